package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Engine is a Docker engine of the bed: dockerd, the directory put first on its PATH (a built engine's
// containerd, shim, runc, docker-proxy and docker-init: dockerd starts the containerd it supervises from
// PATH), and its daemon.json.
type Engine struct {
	Version    string // 20.10 (Debian's docker.io) or a built one, e.g. 29.8.1
	Dockerd    string
	Bin        string // empty for Debian's engine
	DaemonJSON string
}

const debianDockerd = "/usr/sbin/dockerd"

// ResolveEngine finds the engine of version: Debian's for 20.10, else the build cache's
// (scripts/build-docker.sh builds it when missing, its progress on c.Log).
func (c Config) ResolveEngine(version string) (Engine, error) {
	if version == "20.10" || strings.HasPrefix(version, "20.10.") {
		if !executable(debianDockerd) {
			return Engine{}, fmt.Errorf("docker 20.10 is Debian's docker.io: %s missing (scripts/install-deps.sh)", debianDockerd)
		}
		return Engine{Version: "20.10", Dockerd: debianDockerd, DaemonJSON: "{}"}, nil
	}
	cmd := exec.Command(filepath.Join(c.Repo, "scripts", "build-docker.sh"), version)
	cmd.Stderr = c.Log
	out, err := cmd.Output()
	if err != nil {
		return Engine{}, fmt.Errorf("build-docker.sh %s: %w", version, err)
	}
	d := lastLine(string(out))
	if !executable(filepath.Join(d, "bin", "dockerd")) {
		return Engine{}, fmt.Errorf("docker %s cache incomplete in %q", version, d)
	}
	// Keep overlay2 (and `docker import` into it) instead of the containerd image store of a fresh
	// Docker >= 29 data root.
	return Engine{Version: version, Dockerd: filepath.Join(d, "bin", "dockerd"), Bin: filepath.Join(d, "bin"),
		DaemonJSON: `{"features":{"containerd-snapshotter":false}}`}, nil
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(l[len(l)-1])
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// DockerCLI is the one CLI for every engine: Debian's 20.10 docker (API 1.41), which newer engines
// accept; a newer CLI negotiates down against 20.10 but rejects some flags client-side.
func DockerCLI() string {
	if executable("/usr/bin/docker") {
		return "/usr/bin/docker"
	}
	if p, err := exec.LookPath("docker"); err == nil {
		return p
	}
	return "docker"
}

// DockerSocket is the node's Docker socket on the host.
func (nd Node) DockerSocket() string { return filepath.Join(nd.Dir, "docker.sock") }

// StartDockerd launches the node's dockerd (argv recorded); stack also serves /run/docker.sock in the
// node's own /run, which the compose stack's containers mount.
func (c Config) StartDockerd(nd Node, e Engine, stack bool, logLevel string) error {
	path := os.Getenv("PATH")
	if e.Bin != "" {
		path = e.Bin + ":" + path
	}
	conf := filepath.Join(nd.Dir, "daemon.json")
	if err := os.WriteFile(conf, []byte(e.DaemonJSON+"\n"), 0o644); err != nil {
		return err
	}
	argv := []string{"env", "PATH=" + path, e.Dockerd, "-H", "unix://" + nd.DockerSocket()}
	if stack {
		argv = append(argv, "-H", "unix:///run/docker.sock")
	}
	argv = append(argv, "--data-root", filepath.Join(nd.Dir, "docker"), "--exec-root", filepath.Join(nd.Dir, "exec"),
		"--pidfile", filepath.Join(nd.Dir, "docker.pidfile"), "--cgroup-parent", "/"+nd.CGDocker,
		"--config-file", conf, "--log-level", logLevel)
	_, err := c.Launch(nd, "dockerd", argv, true)
	return err
}

// engineGet GETs path of the node's Docker API within timeout.
func engineGet(nd Node, path string, timeout time.Duration) ([]byte, error) {
	return unixDo(nd.DockerSocket(), http.MethodGet, path, timeout)
}

// DockerdOK reports whether the node's dockerd answers its ping.
func DockerdOK(nd Node) bool {
	b, err := engineGet(nd, "/_ping", 2*time.Second)
	return err == nil && string(b) == "OK"
}

// EngineVersion is the version and API version the node's running engine reports.
func EngineVersion(nd Node) (version, api string, err error) {
	b, err := engineGet(nd, "/version", 5*time.Second)
	if err != nil {
		return "", "", err
	}
	var v struct{ Version, APIVersion string }
	if err := json.Unmarshal(b, &v); err != nil {
		return "", "", fmt.Errorf("engine version: %w", err)
	}
	return v.Version, v.APIVersion, nil
}

// docker runs the Docker CLI against the node's dockerd (at most a minute) and returns its stdout.
func docker(nd Node, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, DockerCLI(), append([]string{"-H", "unix://" + nd.DockerSocket()}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ImportImage imports the busybox test image (built once into the cache) into the node's dockerd.
func (c Config) ImportImage(nd Node) error {
	tar, err := c.imageTar()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := docker(nd, "import", "-c", `CMD ["/bin/sh"]`, tar, TestImage); err != nil {
		return err
	}
	c.logf("imported %s in %.2fs", TestImage, time.Since(t0).Seconds())
	return nil
}

// TestImage is the image every node's dockerd has: busybox, imported from a rootfs tarball.
const TestImage = "cdbusybox:latest"

// stackContainers are the compose stack's containers: they go last, after the networks they serve.
var stackContainers = []string{"cilium-docker", "cilium-agent", "cilium-etcd"}

// builtinDrivers are the network drivers dockerd brings; the networks of any other are the plugin's.
var builtinDrivers = []string{"bridge", "host", "null", "overlay", "macvlan", "ipvlan"}

// DockerCleanup removes the node's containers, then the plugin's networks (else the next dockerd start
// waits for the plugin); a stack node's stack containers go last. Nothing when dockerd does not answer.
func (c Config) DockerCleanup(nd Node, stack bool) {
	if !DockerdOK(nd) {
		return
	}
	keep := func(name string) bool { return stack && slices.Contains(stackContainers, name) }
	names, _ := docker(nd, "ps", "-a", "--format", "{{.Names}}")
	var rm, last []string
	for _, n := range strings.Fields(names) {
		if keep(n) {
			last = append(last, n)
		} else {
			rm = append(rm, n)
		}
	}
	if len(rm) > 0 {
		if _, err := docker(nd, append([]string{"rm", "-f"}, rm...)...); err != nil {
			c.logf("docker rm -f failed: %v", err)
		}
		c.logf("removed containers: %s", strings.Join(rm, " "))
	}
	nets, _ := docker(nd, "network", "ls", "--format", "{{.ID}} {{.Driver}}")
	var plugin []string
	for _, l := range strings.Split(nets, "\n") {
		if f := strings.Fields(l); len(f) == 2 && !slices.Contains(builtinDrivers, f[1]) {
			plugin = append(plugin, f[0])
		}
	}
	if len(plugin) > 0 {
		if _, err := docker(nd, append([]string{"network", "rm"}, plugin...)...); err != nil {
			c.logf("docker network rm failed: %v", err)
		}
		c.logf("removed plugin networks: %s", strings.Join(plugin, " "))
	}
	if len(last) > 0 {
		if _, err := docker(nd, append([]string{"rm", "-f"}, last...)...); err != nil {
			c.logf("docker rm -f %s failed: %v", strings.Join(last, " "), err)
		}
	}
}
