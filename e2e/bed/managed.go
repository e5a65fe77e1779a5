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

// CreateManagedPlugin installs the managed plugin on the node's dockerd from its release tarball, as
// README's "Release artifacts" tells users: scripts/plugin.sh with PLUGIN_CREATE=0 builds the tarball from
// the binary under test (what `make release` runs for each architecture), tar extracts it into a directory
// and `docker plugin create NAME DIR` creates the plugin, disabled, as name (which is then its driver name;
// a name other than plugin/config.json's default also needs CILIUM_DOCKER_DRIVER_NAME set, which the callers
// do not). It returns the tarball's path.
func (nd *Node) CreateManagedPlugin(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), "scripts", "plugin.sh"))
	cmd.Env = append(os.Environ(), "PLUGIN_BIN="+PluginBin(), "PLUGIN_OUT="+t.TempDir(), "PLUGIN_CREATE=0")
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("leg %s: node %d: scripts/plugin.sh: %v\n%s%s", nd.Leg, nd.N, err, out.String(), errs.String())
	}
	tarball := strings.TrimSpace(out.String())
	if !strings.HasSuffix(tarball, "-linux-amd64.tar.gz") {
		t.Fatalf("scripts/plugin.sh made %q, want cilium-docker-plugin-<version>-linux-amd64.tar.gz", tarball)
	}
	dir := t.TempDir()
	if b, err := exec.CommandContext(ctx, "tar", "-C", dir, "-xzf", tarball).CombinedOutput(); err != nil {
		t.Fatalf("tar -C %s -xzf %s: %v\n%s", dir, tarball, err, b)
	}
	nd.Must(t, "plugin", "create", name, dir)
	return tarball
}

// ManagedPluginSocket is the host path of the socket of the managed plugin with ID id: dockerd keeps
// each managed plugin's socket in /run/docker/plugins/<id>/, which the bed mounts from the node directory.
func (nd *Node) ManagedPluginSocket(id, socket string) string {
	return filepath.Join(nd.NodeDir(), "plugins", id, socket)
}
