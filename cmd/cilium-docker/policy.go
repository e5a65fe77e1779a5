package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
)

// The policy commands and Cilium's policy parser live in the cilium-docker-policy binary: linked into
// this one, the parser's package initialisation (Kubernetes apimachinery, much of cilium-agent) would
// cost the long-running plugin about 12 MB of resident memory. `cilium-docker policy ARGS` runs
// `cilium-docker-policy ARGS`; the plugin runs its policy sync as a child (policysync.go).

// policyStopGrace is how long a policy command has to end after SIGTERM before it is killed.
const policyStopGrace = 10 * time.Second

// findPolicyBinary returns the cilium-docker-policy binary: the one beside this executable (both come
// from one build: make build, the image, an install), else the one in PATH.
func findPolicyBinary() (string, error) {
	self, err := os.Executable()
	if err == nil {
		p := filepath.Join(filepath.Dir(self), cliflags.PolicyBinary)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	p, lerr := exec.LookPath(cliflags.PolicyBinary)
	if lerr != nil {
		where := "beside this binary"
		if self != "" {
			where = "in " + filepath.Dir(self)
		}
		return "", fmt.Errorf("%s not found %s or in PATH: it holds the policy commands and Cilium's policy parser; "+
			"install it from the same build as cilium-docker (make build puts both into bin/): %w", cliflags.PolicyBinary, where, lerr)
	}
	return p, nil
}

// runPolicy runs `cilium-docker-policy ARGS` with this process's stdin and the given outputs; it ends
// with the command or with ctx (SIGTERM first, a kill after policyStopGrace). No deadline of its own:
// the commands carry theirs (--etcd-timeout per call), and `policy sync` runs until it is stopped.
func runPolicy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runPolicyBinary(ctx, cliflags.PolicyViaPlugin, args, stdin, stdout, stderr)
}

// runNode runs `cilium-docker-policy node ARGS` for `cilium-docker node ARGS`: the node ranges live in
// etcd, whose client only the policy binary links.
func runNode(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runPolicyBinary(ctx, cliflags.PluginBinary, append([]string{"node"}, args...), stdin, stdout, stderr)
}

// runPolicyBinary runs the policy binary with args, argv[0] the name its usage and errors show.
func runPolicyBinary(ctx context.Context, argv0 string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	bin, err := findPolicyBinary()
	if err != nil {
		return fmt.Errorf("%s: %w", args0(argv0, args), err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Args[0] = argv0
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = policyStopGrace
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return &cli.ExitError{Code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", args0(argv0, args), bin, err)
	}
	return nil
}

// args0 names the command in an error: "policy", or "node" for the node commands.
func args0(argv0 string, args []string) string {
	if argv0 == cliflags.PluginBinary && len(args) > 0 {
		return args[0]
	}
	return "policy"
}
