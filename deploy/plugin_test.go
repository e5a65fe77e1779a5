package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types"
)

// pluginConfig decodes plugin/config.json into Docker's own type, refusing a field Docker does not know.
func pluginConfig(t *testing.T) types.PluginConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "plugin", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c types.PluginConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("plugin/config.json: %v", err)
	}
	return c
}

// flagLine matches a flag's registration in cmd/cilium-docker: fs.StringVar(&x, "name", … or fs.String("name", ….
var flagLine = regexp.MustCompile(`fs\.[A-Za-z]+\((?:&[^,]+, )?"([a-z0-9-]+)"`)

// pluginFlags are the flags of the plugin binary, read from its source.
func pluginFlags(t *testing.T) map[string]bool {
	t.Helper()
	flags := map[string]bool{}
	for _, f := range []string{"cilium-docker/config.go", "internal/cliflags/etcd.go"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(), "cmd", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flagLine.FindAllStringSubmatch(string(b), -1) {
			flags[m[1]] = true
		}
	}
	if !flags["driver-name"] || !flags["cilium-api"] || !flags["etcd-endpoints"] {
		t.Fatalf("flags read from cmd/cilium-docker: %v, want driver-name, cilium-api, etcd-endpoints among them", flags)
	}
	return flags
}

// TestPluginConfig checks the managed plugin's config.json against what the binary and Docker expect:
// both interfaces on the socket the binary listens on, the host network, CAP_NET_ADMIN only, the two
// mounts with settable sources that the env's addresses point into, and only settable env of real flags.
func TestPluginConfig(t *testing.T) {
	c := pluginConfig(t)
	var ifaces []string
	for _, it := range c.Interface.Types {
		ifaces = append(ifaces, it.String())
	}
	if !slices.Equal(ifaces, []string{"docker.networkdriver/1.0", "docker.ipamdriver/1.0"}) {
		t.Errorf("interface types %v, want docker.networkdriver/1.0 and docker.ipamdriver/1.0", ifaces)
	}
	// The binary's socket: <--docker-plugins>/cilium.sock, and Docker mounts the plugin's socket directory
	// at /run/docker/plugins, the flag's default.
	if c.Interface.Socket != "cilium.sock" {
		t.Errorf("interface socket %q, want cilium.sock", c.Interface.Socket)
	}
	if c.Network.Type != "host" {
		t.Errorf("network type %q, want host (the veth pairs are made in dockerd's network namespace)", c.Network.Type)
	}
	if !slices.Equal(c.Linux.Capabilities, []string{"CAP_NET_ADMIN"}) || c.Linux.AllowAllDevices || len(c.Linux.Devices) > 0 {
		t.Errorf("linux %+v, want CAP_NET_ADMIN only and no devices", c.Linux)
	}
	if c.PidHost || c.IpcHost || c.PropagatedMount != "" {
		t.Errorf("pid host %v, ipc host %v, propagated mount %q: want none", c.PidHost, c.IpcHost, c.PropagatedMount)
	}
	if !slices.Equal(c.Entrypoint, []string{"/cilium-docker"}) {
		t.Errorf("entrypoint %v, want [/cilium-docker]", c.Entrypoint)
	}

	mounts := map[string]types.PluginMount{}
	for _, m := range c.Mounts {
		mounts[m.Name] = m
		if m.Source == nil || m.Type != "bind" || !slices.Equal(m.Settable, []string{"source"}) || !slices.Contains(m.Options, "ro") {
			t.Errorf("mount %q: %+v, want a read-only bind mount with a default, settable source", m.Name, m)
		}
	}
	want := map[string]string{"cilium-run": "/var/run/cilium", "docker-sock": "/var/run/docker.sock"}
	if len(mounts) != len(want) {
		t.Errorf("mounts %v, want exactly %v", mounts, want)
	}
	for name, dst := range want {
		if m, ok := mounts[name]; !ok || m.Destination != dst || *m.Source != dst {
			t.Errorf("mount %q: %+v, want %s from %s", name, m, dst, dst)
		}
	}

	flags := pluginFlags(t)
	env := map[string]string{}
	for _, e := range c.Env {
		if e.Value == nil || !slices.Equal(e.Settable, []string{"value"}) {
			t.Errorf("env %s: value %v settable %v, want a default and settable value", e.Name, e.Value, e.Settable)
			continue
		}
		env[e.Name] = *e.Value
		flag, ok := strings.CutPrefix(e.Name, "CILIUM_DOCKER_")
		if flag = strings.ReplaceAll(strings.ToLower(flag), "_", "-"); !ok || !flags[flag] {
			t.Errorf("env %s: no flag --%s of the plugin", e.Name, flag)
		}
	}
	for name, v := range map[string]string{
		"CILIUM_DOCKER_CILIUM_API":       "unix://" + want["cilium-run"] + "/cilium.sock",
		"CILIUM_DOCKER_DOCKER_HOST_PATH": "unix://" + want["docker-sock"],
		"CILIUM_DOCKER_DRIVER_NAME":      "cilium-docker:latest",
	} {
		if env[name] != v {
			t.Errorf("env %s=%q, want %q", name, env[name], v)
		}
	}
	if c.Args.Name != "args" || !slices.Equal(c.Args.Settable, []string{"value"}) {
		t.Errorf("args %+v, want settable args", c.Args)
	}
}

// TestPluginScript checks that scripts/plugin.sh puts the binary where config.json's entrypoint runs it
// and creates the plugin under the driver name config.json defaults to.
func TestPluginScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), "scripts", "plugin.sh"))
	if err != nil {
		t.Fatal(err)
	}
	c := pluginConfig(t)
	var driver string
	for _, e := range c.Env {
		if e.Name == "CILIUM_DOCKER_DRIVER_NAME" && e.Value != nil {
			driver = *e.Value
		}
	}
	for _, l := range []string{
		`cp "$PLUGIN_BIN" "$dir/rootfs` + c.Entrypoint[0] + `"`,
		`cp "$REPO_DIR/plugin/config.json" "$dir/config.json"`,
		"PLUGIN_NAME=${PLUGIN_NAME:-" + driver + "}",
		"DEFAULT_NAME=" + driver + "   # plugin/config.json's CILIUM_DOCKER_DRIVER_NAME",
	} {
		if !slices.Contains(strings.Split(string(b), "\n"), l) {
			t.Errorf("scripts/plugin.sh lacks the line %q", l)
		}
	}
}
