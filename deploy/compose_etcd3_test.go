package deploy

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// etcdPeerTLS are the peer TLS flags of every member's command: mutual TLS with the node's etcd
// certificate (serverAuth and clientAuth, the node's IP), and only etcd's certificates as peers (the only
// ones of the CA that name localhost: the programs' client certificates have no names, pki/leaf.go).
var etcdPeerTLS = []string{
	"--peer-client-cert-auth=true",
	"--peer-trusted-ca-file=" + certDir + "/ca.crt",
	"--peer-cert-file=" + certDir + "/etcd-server.crt",
	"--peer-key-file=" + certDir + "/etcd-server.key",
	"--peer-cert-allowed-hostname=localhost",
}

// member is one member of ETCD_INITIAL_CLUSTER: its name and peer URL.
type member struct {
	name string
	peer *url.URL
}

// initialCluster parses ETCD_INITIAL_CLUSTER (NAME=URL,...).
func initialCluster(t *testing.T, s string) []member {
	t.Helper()
	var out []member
	for _, m := range strings.Split(s, ",") {
		name, raw, ok := strings.Cut(m, "=")
		u, err := url.Parse(raw)
		if !ok || err != nil || name == "" {
			t.Fatalf("ETCD_INITIAL_CLUSTER %q: member %q is not NAME=URL (%v)", s, m, err)
		}
		out = append(out, member{name, u})
	}
	return out
}

// memberEnv writes the env file of node n (1 to 3) of the three-member etcd that .env.example shows: its
// settings and its commented-out etcd ones, the node's NODE_NAME and NODE_IP from member n of
// ETCD_INITIAL_CLUSTER, ETCD_PEER_URL that member's, COMPOSE_PROFILES only on nodes 2 and 3 (node 1's
// etcd is node1.yml's). It returns the file and its variables.
func memberEnv(t *testing.T, n int) (string, map[string]string) {
	t.Helper()
	set, commented := envExampleLines(t)
	env := maps.Clone(set)
	for _, k := range []string{"ETCD_ADDRESS", "ETCD_PEER_URL", "ETCD_INITIAL_CLUSTER", "ETCD_INITIAL_CLUSTER_STATE", "COMPOSE_PROFILES"} {
		if commented[k] == "" {
			t.Fatalf("compose/.env.example does not show #%s=... (the three-member etcd)", k)
		}
		env[k] = commented[k]
	}
	members := initialCluster(t, env["ETCD_INITIAL_CLUSTER"])
	if len(members) != 3 {
		t.Fatalf(".env.example: ETCD_INITIAL_CLUSTER %q: %d members, want 3", env["ETCD_INITIAL_CLUSTER"], len(members))
	}
	if env["ETCD_PEER_URL"] != members[0].peer.String() {
		t.Errorf(".env.example: ETCD_PEER_URL %q, want node 1's in ETCD_INITIAL_CLUSTER %q", env["ETCD_PEER_URL"], members[0].peer)
	}
	if set["NODE_NAME"] != members[0].name || set["NODE_IP"] != members[0].peer.Hostname() {
		t.Errorf(".env.example: node %s at %s, want ETCD_INITIAL_CLUSTER's first member %s", set["NODE_NAME"], set["NODE_IP"], members[0].peer)
	}
	m := members[n-1]
	env["NODE_NAME"], env["NODE_IP"], env["ETCD_PEER_URL"] = m.name, m.peer.Hostname(), m.peer.String()
	if n == 1 {
		delete(env, "COMPOSE_PROFILES")
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("node%d.env", n))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, env
}

// testThreeMembers resolves node1.yml on node 1 and node2.yml on nodes 2 and 3 with the three-member etcd
// of .env.example: each runs its member, peer URL on its NODE_IP over mutual TLS, the same initial
// cluster, and its services connect to all three members.
func testThreeMembers(t *testing.T) {
	for n := 1; n <= 3; n++ {
		envFile, env := memberEnv(t, n)
		file := "node2.yml"
		if n == 1 {
			file = "node1.yml"
		}
		cfg := composeConfigEnv(t, file, envFile)
		what := fmt.Sprintf("node %d (%s)", n, file)
		svcs := slices.Sorted(maps.Keys(cfg["services"].(map[string]any)))
		if want := []string{"cilium-agent", "cilium-docker", "etcd", "ranges"}; !slices.Equal(svcs, want) {
			t.Fatalf("%s: services %v, want %v", what, svcs, want)
		}
		cmd := strs(service(t, cfg, "etcd"), "command")
		ip, peer := env["NODE_IP"], env["ETCD_PEER_URL"]
		wantAll(t, what+": etcd command", cmd, append([]string{
			"--name=" + env["NODE_NAME"],
			"--listen-client-urls=https://127.0.0.1:2379,https://" + ip + ":2379",
			"--advertise-client-urls=https://" + ip + ":2379",
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=" + env["ETCD_INITIAL_CLUSTER"],
			"--initial-cluster-state=new",
		}, etcdPeerTLS...))
		if names := flagNames(cmd); len(names) != len(slices.Compact(slices.Clone(names))) {
			t.Errorf("%s: etcd command repeats a flag: %v", what, names)
		}
		var all []string
		allStrings(cfg, &all)
		for _, s := range all {
			if strings.Contains(s, "http://") {
				t.Errorf("%s: plain HTTP in a three-member stack: %q", what, s)
			}
		}
		// The clients: every member's client URL, in the initial cluster's order.
		var want []string
		for _, m := range initialCluster(t, env["ETCD_INITIAL_CLUSTER"]) {
			if m.peer.Scheme != "https" || m.peer.Port() != "2380" {
				t.Errorf("ETCD_INITIAL_CLUSTER: member %s at %s, want https on 2380", m.name, m.peer)
			}
			want = append(want, "https://"+m.peer.Hostname()+":2379")
		}
		if got := env["ETCD_ADDRESS"]; got != strings.Join(want, ",") {
			t.Errorf(".env.example: three-member ETCD_ADDRESS %q, want every member's %q", got, strings.Join(want, ","))
		}
		for _, name := range []string{"ranges", "cilium-docker"} {
			e, _ := service(t, cfg, name)["environment"].(map[string]any)
			if got := e["CILIUM_DOCKER_ETCD_ENDPOINTS"]; got != env["ETCD_ADDRESS"] {
				t.Errorf("%s %s: CILIUM_DOCKER_ETCD_ENDPOINTS %v, want %q", what, name, got, env["ETCD_ADDRESS"])
			}
		}
	}
}

// wantNode2EtcdProfile: node2.yml's etcd (profile etcd) is node1.yml's, resolved with the same .env.
func wantNode2EtcdProfile(t *testing.T) {
	envFile, _ := memberEnv(t, 2)
	one := maps.Clone(service(t, composeConfigEnv(t, "node1.yml", envFile), "etcd"))
	two := service(t, composeConfigEnv(t, "node2.yml", envFile), "etcd")
	one["profiles"] = []any{"etcd"}
	if !reflect.DeepEqual(one, two) {
		t.Errorf("etcd differs:\nnode1.yml %v\nnode2.yml %v", one, two)
	}
}
