// Command bench is `make bench`'s run at scale (issue 20 point 5): it brings a test bed of the current
// engine and agent pair up, measures (internal/bench), writes its section into BENCHMARKS.md and tears
// the bed down. As root, like the bed. Usage: bench [flags]; -h lists them.
//
// `bench upstream` is `make bench-upstream`, the side by side of this plugin, the upstream cilium-docker
// plugin and the default bridge on Docker 20.10 (its environment: upstream.go). `bench socket-ms` is
// one of its measures, which it runs inside a node.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/bench"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "upstream":
			return runUpstream(os.Args[2:])
		case "socket-ms":
			return runSocketMS(os.Args[2:])
		}
	}
	var c bench.Config
	repo, _ := os.Getwd()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.IntVar(&c.Runs, "runs", 21, "`docker run --rm` of each side, and labelled runs for the ready row")
	fs.IntVar(&c.Density, "density", 500, "sleeping containers of the density and RSS rows")
	fs.IntVar(&c.DensityRuns, "density-runs", 11, "measured `run --rm` at 10 and at -density")
	fs.IntVar(&c.Burst, "burst", 100, "concurrent `docker run -d`")
	fs.IntVar(&c.Nodes, "nodes", 4, "nodes of the cluster rows (2-9)")
	fs.IntVar(&c.PolicyRuns, "policy-runs", 9, "rules applied one after another")
	fs.IntVar(&c.ReachRuns, "reach-runs", 8, "new containers reached across nodes")
	fs.IntVar(&c.Lanes, "lanes", 4, "concurrent `docker run -d` while filling -density")
	out := fs.String("out", "BENCHMARKS.md", "the file whose bench section is written")
	id := fs.String("id", "gbench", "the bed's TESTBED_ID ([a-z0-9]{1,8})")
	plugin := fs.String("plugin", filepath.Join(repo, "bin", "cilium-docker"), "the plugin binary")
	keep := fs.Bool("keep", false, "leave the bed up afterwards")
	rows := fs.String("rows", "", "comma-separated groups of rows to measure, among "+strings.Join(bench.RowGroups(), ",")+" (default all)")
	_ = fs.Parse(os.Args[1:])
	if *rows != "" {
		c.Rows = strings.Split(*rows, ",")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root (the test bed creates network namespaces)")
	}
	cfg, err := testbed.Config{ID: *id, StopTimeout: 10 * time.Second, Log: os.Stderr, Repo: repo,
		Self: filepath.Join(repo, "bin", "testbed")}.WithDefaults()
	if err != nil {
		return err
	}
	b := &bench.Bed{Cfg: cfg, Repo: repo, Docker: matrix.DockerCurrent, Cilium: matrix.CiliumCurrent, Plugin: *plugin,
		Log: os.Stderr, AgentMetrics: true}
	if err := c.Check(); err != nil { // before the bed is touched
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !*keep {
		defer func() {
			if err := b.DownAll(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "bench: down:", err)
			}
		}()
	}
	r, runErr := bench.Run(ctx, b, c)
	if r == nil { // a refused scale
		return runErr
	}
	if runErr != nil { // keep what was measured, and say where it stopped
		r.Header = append(r.Header, fmt.Sprintf("**This run stopped early** (%v): the rows below are the ones measured.", runErr))
	}
	doc, err := os.ReadFile(*out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.WriteFile(*out, []byte(bench.Splice(string(doc), r.Section())), 0o644); err != nil {
		return err
	}
	fmt.Print(r.Section())
	return runErr
}
