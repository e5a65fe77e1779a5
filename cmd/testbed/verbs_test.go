package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
)

func testIO() cli.IO { return cli.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard} }

// The bed's verbs refuse a malformed command line with 2 before they touch the bed.
func TestBedVerbsUsage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the bed's verbs check root first")
	}
	t.Setenv("TESTBED_DIR", t.TempDir())
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"up"}, 2},
		{[]string{"up", "x"}, 2},
		{[]string{"up", "10"}, 2},
		{[]string{"pid", "1"}, 2},
		{[]string{"pid", "1", "bogus"}, 2},
		{[]string{"pid", "1", "agent"}, 1}, // no record: not running, nothing printed
		{[]string{"signal", "1", "agent", "BOGUS"}, 2},
		{[]string{"logs", "1", "many"}, 2},
		{[]string{"exec", "1"}, 2},
		{[]string{"_mounts", "/x"}, 2},
		{[]string{"_agent", "x"}, 2},
	} {
		if out, code := runArgs(c.args...); code != c.code || (code == 1 && out != "") {
			t.Errorf("testbed %v: exit %d, printed %q; want %d", c.args, code, out, c.code)
		}
	}
	t.Setenv("AGENT_IPV6", "yes")
	if _, code := runArgs("up", "1"); code != 2 {
		t.Errorf("AGENT_IPV6=yes: exit %d, want 2", code)
	}
	t.Setenv("TESTBED_ID", "Bad-ID")
	if _, code := runArgs("pid", "1", "agent"); code != 1 {
		t.Errorf("TESTBED_ID=Bad-ID: exit %d, want 1", code)
	}
}

// up's options come from the environment: a setting given is pinned; set but empty drops a flag.
func TestUpOptions(t *testing.T) {
	c, err := bedConfig(testIO())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_VERSION", "20.10")
	t.Setenv("AGENT_IPV6", "1")
	t.Setenv("PLUGIN_METRICS_ADDRESS", "")
	t.Setenv("PLUGIN_ARGS", "--a --b")
	t.Setenv("AGENT_TIMEOUT", "5")
	o, err := upOptions(c)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Pinned.Docker || o.Pinned.Cilium || !o.Pinned.IPv6 || o.Pinned.Limits || !o.IPv6 {
		t.Errorf("pinned %+v, IPv6 %t", o.Pinned, o.IPv6)
	}
	if o.Plugin.MetricsAddress != "" || o.Plugin.ReconcileInterval != "20s" || !o.Plugin.PolicySync || len(o.Plugin.Args) != 2 {
		t.Errorf("plugin %+v", o.Plugin)
	}
	if o.Timeouts.Agent.Seconds() != 5 || o.Timeouts.Dockerd.Seconds() != 60 {
		t.Errorf("timeouts %+v", o.Timeouts)
	}
	t.Setenv("ETCD_TIMEOUT", "soon")
	if _, err := upOptions(c); err == nil {
		t.Error("ETCD_TIMEOUT=soon: no error")
	}
}
