package bed

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
)

// dockerCLI is Debian's 20.10 client (API 1.41): it drives both the 20.10 engine and newer ones, which
// accept API 1.40 and up.
const dockerCLI = "/usr/bin/docker"

// Docker runs the Docker CLI against the node's dockerd and returns its trimmed output.
func (nd *Node) Docker(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+nd.env["DOCKER_HOST"])
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// BestEffort runs the Docker CLI where a failure fails nothing (cleanups, removing what may be gone
// already) and logs it.
func (nd *Node) BestEffort(t testing.TB, args ...string) {
	t.Helper()
	if out, err := nd.Docker(t, args...); err != nil {
		t.Logf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Must runs the Docker CLI and fails the test on error.
func (nd *Node) Must(t testing.TB, args ...string) string {
	t.Helper()
	out, err := nd.Docker(t, args...)
	if err != nil {
		t.Fatalf("leg %s: node %d: docker %s: %v\n%s", nd.Leg, nd.N, strings.Join(args, " "), err, out)
	}
	return out
}

// Network creates a cilium network removed at cleanup.
func (nd *Node) Network(t testing.TB, name string, extra ...string) {
	t.Helper()
	nd.NetworkOf(t, "cilium", name, extra...)
}

// NetworkOf creates a network of the plugin known to Docker as driver (network and IPAM driver: a
// managed plugin's name), removed at cleanup.
func (nd *Node) NetworkOf(t testing.TB, driver, name string, extra ...string) {
	t.Helper()
	args := append([]string{"network", "create", "--driver", driver, "--ipam-driver", driver}, extra...)
	nd.Must(t, append(args, name)...)
	t.Cleanup(func() { nd.BestEffort(t, "network", "rm", name) })
}

// Run starts a detached busybox container (docker run -d --init args...) removed at cleanup and returns its ID.
func (nd *Node) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	base := []string{"run", "-d", "--pull", "never", "--init", "--name", name}
	id := nd.Must(t, append(base, args...)...)
	t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", name) })
	return id
}

// Compose runs `docker compose` (compose v2, scripts/build-compose.sh) against the node's dockerd.
func (nd *Node) Compose(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cfg, err := composeConfig()
	if err != nil {
		t.Fatalf("docker compose: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, append([]string{"compose"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+nd.env["DOCKER_HOST"], "DOCKER_CONFIG="+cfg)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (nd *Node) endpointSettings(t testing.TB, name, net string) *network.EndpointSettings {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := nd.API.ContainerInspect(ctx, name)
	if err != nil {
		t.Fatalf("leg %s: inspect container %s: %v", nd.Leg, name, err)
	}
	if c.NetworkSettings == nil || c.NetworkSettings.Networks[net] == nil {
		t.Fatalf("leg %s: container %s is not on network %s", nd.Leg, name, net)
	}
	return c.NetworkSettings.Networks[net]
}

// ContainerIP returns the container's address on net.
func (nd *Node) ContainerIP(t testing.TB, name, net string) netip.Addr {
	t.Helper()
	s := nd.endpointSettings(t, name, net).IPAddress
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("address of %s on %s: %q: %v", name, net, s, err)
	}
	return ip
}

// ContainerIPv6 returns the container's IPv6 address on net (invalid when it has none).
func (nd *Node) ContainerIPv6(t testing.TB, name, net string) netip.Addr {
	t.Helper()
	s := nd.endpointSettings(t, name, net).GlobalIPv6Address
	if s == "" {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("IPv6 address of %s on %s: %q: %v", name, net, s, err)
	}
	return ip
}

// EndpointID returns the Docker endpoint ID of container name on net.
func (nd *Node) EndpointID(t testing.TB, name, net string) string {
	t.Helper()
	return nd.endpointSettings(t, name, net).EndpointID
}

// NetworkID returns the ID of Docker network net.
func (nd *Node) NetworkID(t testing.TB, net string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := nd.API.NetworkInspect(ctx, net, network.InspectOptions{})
	if err != nil {
		t.Fatalf("leg %s: inspect network %s: %v", nd.Leg, net, err)
	}
	return n.ID
}

// TCP sends a line from container from to addr:8080 and expects "pong" back.
func (nd *Node) TCP(t testing.TB, from, addr string) error {
	out, err := nd.Docker(t, "exec", from, "sh", "-c", "echo ping | nc -w 2 "+addr+" 8080")
	if err != nil {
		return fmt.Errorf("nc %s -> %s:8080: %w %q", from, addr, err, out)
	}
	if !strings.Contains(out, "pong") {
		return fmt.Errorf("nc %s -> %s:8080: no pong: %q", from, addr, out)
	}
	return nil
}
