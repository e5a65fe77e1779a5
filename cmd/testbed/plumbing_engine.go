package main

import (
	"fmt"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// The engine's plumbing verbs: dockerd of a node, its health, the test image, the cleanup at down.
func plumbingEngine() []cli.Command {
	return []cli.Command{
		{Name: "_engine", Run: bedVerb(1, 1, plumbEngine)},
		{Name: "_docker-cli", Run: bedVerb(0, 0, plumbDockerCLI)},
		{Name: "_start-dockerd", Run: bedVerb(4, 4, plumbStartDockerd)},
		{Name: "_dockerd-ok", Run: bedVerb(1, 1, plumbDockerdOK)},
		{Name: "_engine-version", Run: bedVerb(2, 2, plumbEngineVersion)},
		{Name: "_import-image", Run: bedVerb(1, 1, plumbImportImage)},
		{Name: "_docker-cleanup", Run: bedVerb(2, 2, plumbDockerCleanup)},
	}
}

// _engine VERSION: the engine's dockerd (a built engine is built when missing).
func plumbEngine(c testbed.Config, a []string, s cli.IO) error {
	e, err := c.ResolveEngine(a[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(s.Out, e.Dockerd)
	return err
}

func plumbDockerCLI(_ testbed.Config, _ []string, s cli.IO) error {
	_, err := fmt.Fprintln(s.Out, testbed.DockerCLI())
	return err
}

// _start-dockerd NODE VERSION PLUGIN_MODE LOG_LEVEL
func plumbStartDockerd(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	e, err := c.ResolveEngine(a[1])
	if err != nil {
		return err
	}
	return c.StartDockerd(nd, e, a[2] == "stack", a[3])
}

// _dockerd-ok NODE: rc 0 when the node's dockerd answers its ping, 1 (silent) when not.
func plumbDockerdOK(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	if !testbed.DockerdOK(nd) {
		return notRunning
	}
	return nil
}

// _engine-version NODE version|api: what the running engine reports; empty when it does not answer.
func plumbEngineVersion(c testbed.Config, a []string, s cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	v, api, _ := testbed.EngineVersion(nd)
	switch a[1] {
	case "version":
	case "api":
		v = api
	default:
		return cli.Usage(fmt.Errorf("_engine-version %q: want version or api", a[1]))
	}
	_, err = fmt.Fprintln(s.Out, v)
	return err
}

func plumbImportImage(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	return c.ImportImage(nd)
}

// _docker-cleanup NODE PLUGIN_MODE
func plumbDockerCleanup(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	c.DockerCleanup(nd, a[1] == "stack")
	return nil
}
