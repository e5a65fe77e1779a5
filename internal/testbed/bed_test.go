package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

func TestLastLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc\n"},
		{"a\nb\n", 5, "a\nb\n"},
		{"", 3, ""},
		{"a\n", 0, ""},
		{"a\n\n\n", 1, "a\n"},
	} {
		if got := string(lastLines([]byte(c.in), c.n)); got != c.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestTailFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.log")
	var b strings.Builder
	for i := 0; i < 200000; i++ { // more than the window: only the end is read
		b.WriteString("line\n")
	}
	b.WriteString("last\n")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := tailFile(p, 2)
	if err != nil || string(got) != "line\nlast\n" {
		t.Errorf("tailFile = %q, %v", got, err)
	}
}

func TestResolvWithIPv6(t *testing.T) {
	got := resolvWithIPv6("nameserver 10.0.0.1\nsearch x\noptions ndots:1\nnameserver 10.0.0.2\n", "fd00:77::1")
	want := "search x\noptions ndots:1\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver fd00:77::1\n"
	if got != want {
		t.Errorf("resolvWithIPv6 = %q, want %q", got, want)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/a\040b\134c`); got != `/a b\c` {
		t.Errorf("unescapeMount = %q", got)
	}
}

func TestNormalise(t *testing.T) {
	o, err := Options{}.Normalise("/repo")
	if err != nil {
		t.Fatal(err)
	}
	if o.Docker != matrix.DockerCurrent || o.Cilium != matrix.CiliumCurrent || o.PluginMode != ModeProcess ||
		o.Limits != LimitsStack || o.AgentConfigDir != "/repo/compose/agent-config" || o.DockerdLogLevel != "debug" ||
		o.Timeouts != DefaultTimeouts {
		t.Errorf("defaults: %+v", o)
	}
	if o, _ := (Options{Docker: "20.10.24"}).Normalise("/r"); o.Docker != "20.10" {
		t.Errorf("20.10.24 normalised to %q, want Debian's 20.10", o.Docker)
	}
	for _, bad := range []Options{{Docker: "latest"}, {Cilium: "1.20"}, {PluginMode: "container"}, {Limits: "none"}} {
		if _, err := bad.Normalise("/r"); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// A node up is kept only when every pinned setting matches; an unpinned one is taken as it is.
func TestKeep(t *testing.T) {
	c := Config{Dir: "/tmp/x"}
	nd, _ := c.Node(1)
	st := State{DockerVersion: "29.8.1", CiliumVersion: "1.20.2", IPv6: false, Limits: LimitsStack, PluginMode: ModeProcess}
	o := Options{Docker: "20.10", Cilium: "1.20.2", Limits: LimitsStack, PluginMode: ModeProcess}
	if _, err := c.keep(nd, st, o); err != nil {
		t.Errorf("docker not pinned: %v", err)
	}
	o.Pinned.Docker = true
	if _, err := c.keep(nd, st, o); err == nil {
		t.Error("docker pinned and different: kept")
	}
	o = Options{Docker: "29.8.1", Cilium: "1.20.2", IPv6: true, Limits: LimitsStack, Pinned: Pinned{Docker: true, Cilium: true, IPv6: true, Limits: true}}
	if _, err := c.keep(nd, st, o); err == nil {
		t.Error("IPv6 pinned and different: kept")
	}
	o.IPv6 = false
	if _, err := c.keep(nd, st, o); err != nil {
		t.Errorf("all pinned and equal: %v", err)
	}
}

// The state file round-trips, and its env lines keep the names the scripts read.
func TestState(t *testing.T) {
	c := Config{Dir: t.TempDir()}
	nd, _ := c.Node(2)
	if _, err := LoadState(nd); err == nil || !strings.Contains(err.Error(), "not up") {
		t.Errorf("no state: %v", err)
	}
	if err := os.MkdirAll(nd.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st := State{Node: 2, NS: nd.NS, Name: nd.NS, IP: nd.IP, PodRange: nd.PodRange, DockerHost: "unix://" + nd.DockerSocket(),
		IPv6: true, CiliumVersion: "1.20.2", HolderPID: 42}
	if err := st.save(nd); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(nd)
	if err != nil || got != st {
		t.Fatalf("LoadState = %+v, %v; want %+v", got, err, st)
	}
	env := st.EnvMap()
	for k, v := range map[string]string{"NODE": "2", "NODE_IP": "192.168.77.3", "POD_RANGE": "10.72.0.0/16", "AGENT_IPV6": "1",
		"DOCKER_HOST": "unix://" + nd.Dir + "/docker.sock", "NODE_NAME": "cdnode2", "CILIUM_VERSION": "1.20.2", "MNT_HOLDER_PID": "42"} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if n := len(st.Env()); n != 28 {
		t.Errorf("%d env lines, want 28", n)
	}
}

func TestDaemonsOf(t *testing.T) {
	c := Config{}
	for _, tc := range []struct {
		mode string
		n    int
		want string
	}{
		{ModeProcess, 1, "etcd agent plugin dockerd"},
		{ModeProcess, 2, "agent plugin dockerd"},
		{ModeNone, 1, "etcd agent dockerd"},
		{ModeStack, 2, "dockerd"},
	} {
		if got := strings.Join(c.daemonsOf(tc.mode, tc.n), " "); got != tc.want {
			t.Errorf("daemonsOf(%s, %d) = %s, want %s", tc.mode, tc.n, got, tc.want)
		}
	}
}
