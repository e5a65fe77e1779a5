package bed

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CreateManagedPlugin builds the managed plugin from the binary under test with scripts/plugin.sh (no
// tarball, the plugin directory in a temporary directory) and creates it, disabled, on the node's dockerd
// as name (which is then its driver name). It returns the script's output.
func (nd *Node) CreateManagedPlugin(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), "scripts", "plugin.sh"))
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+nd.env["DOCKER_HOST"], "DOCKER="+dockerCLI, "PLUGIN_BIN="+PluginBin(),
		"PLUGIN_NAME="+name, "PLUGIN_OUT="+t.TempDir(), "PLUGIN_TARBALL=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("leg %s: node %d: scripts/plugin.sh %s: %v\n%s", nd.Leg, nd.N, name, err, out.String())
	}
	return strings.TrimSpace(out.String())
}

// ManagedPluginSocket is the host path of the socket of the managed plugin with ID id: dockerd keeps
// each managed plugin's socket in /run/docker/plugins/<id>/, which the bed mounts from the node directory.
func (nd *Node) ManagedPluginSocket(id, socket string) string {
	return filepath.Join(nd.NodeDir(), "plugins", id, socket)
}
