package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/pki"
)

// leafDays is how long a node's certificates are valid by default (certs node --days).
const leafDays = 365

// runCerts is `cilium-docker certs init|node`: the cluster's etcd CA, and a node's etcd server and
// client certificates signed by it (pki/).
func runCerts(_ context.Context, args []string, streams cli.IO) error {
	stdout, stderr := streams.Out, streams.Err
	if len(args) == 0 {
		return cli.Usage(fmt.Errorf("certs: want init or node\n%s", usage))
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("cilium-docker certs "+sub, flag.ContinueOnError)
	dir := fs.String("dir", pki.DefaultDir, "the PKI directory: the CA at its top, one subdirectory per node")
	switch sub {
	case "init":
		rest, err := parseCommand(fs, args, stderr)
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return cli.Usage(fmt.Errorf("certs init: unexpected argument %q", rest[0]))
		}
		res, err := pki.Dir{Path: *dir}.Init(time.Now())
		if err != nil {
			return err
		}
		return report(stdout, "the cluster's etcd CA", res)
	case "node":
		days := fs.Int("days", leafDays, "days the node's certificates are valid")
		force := fs.Bool("force", false, "replace the node's existing certificates and keys (renewal)")
		endpoints := fs.String("etcd-endpoints", "", "the etcd endpoints in the agent's etcd.config, comma-separated (default https://IP:2379: the node's own etcd)")
		rest, err := parseCommand(fs, args, stderr)
		if err != nil {
			return err
		}
		r, err := nodeRequest(rest, *days, *force, *endpoints)
		if err != nil {
			return err
		}
		res, err := pki.Dir{Path: *dir}.Node(time.Now(), r)
		if err != nil {
			return err
		}
		return report(stdout, "node "+r.Name.String()+"'s etcd certificates", res)
	}
	return cli.Usage(fmt.Errorf("certs: unknown command %q: want init or node", sub))
}

// nodeRequest checks certs node's arguments (NAME IP) and flags.
func nodeRequest(args []string, days int, force bool, endpoints string) (pki.NodeRequest, error) {
	if len(args) != 2 {
		return pki.NodeRequest{}, cli.Usage(fmt.Errorf("certs node: want NAME IP, got %d arguments", len(args)))
	}
	name, err := pki.ParseNodeName(args[0])
	if err != nil {
		return pki.NodeRequest{}, fmt.Errorf("certs node: %w", err)
	}
	ip, err := pki.ParseNodeIP(args[1])
	if err != nil {
		return pki.NodeRequest{}, fmt.Errorf("certs node: %w", err)
	}
	if days <= 0 {
		return pki.NodeRequest{}, fmt.Errorf("certs node: --days %d: want at least 1", days)
	}
	r := pki.NodeRequest{Name: name, IP: ip, Days: days, Force: force}
	for _, e := range cliflags.SplitList(endpoints) {
		if e, err = pki.ParseEndpoint(e); err != nil {
			return pki.NodeRequest{}, fmt.Errorf("certs node: --etcd-endpoints: %w", err)
		}
		r.Endpoints = append(r.Endpoints, e)
	}
	return r, nil
}

func report(w io.Writer, what string, res pki.Result) error {
	_, err := fmt.Fprintf(w, "wrote %s in %s (expires %s):\n", what, res.Dir, res.NotAfter.UTC().Format(time.DateOnly))
	for _, f := range res.Files {
		if err == nil {
			_, err = fmt.Fprintln(w, " ", f)
		}
	}
	return err
}
