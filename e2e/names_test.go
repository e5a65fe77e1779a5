package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestContainerNames: every container endpoint carries k8s-namespace and k8s-pod-name, the only way
// to name a container in Cilium since 1.20. The namespace is the compose project, else "docker".
// The agent then finds the endpoint by cep-name and publishes the names with the address in the
// kvstore's ipcache, where Hubble on every node reads them.
func TestContainerNames(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-net"
	nd.Network(t, net)
	nd.Run(t, "kn1", "-l", "name=kn1", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "kn2", "-l", "name=kn2", "-l", "com.docker.compose.project=shop", "-l", "com.docker.compose.service=kn",
		"--net", net, bed.Image, "sleep", "100000")
	for _, c := range []struct{ name, namespace string }{{"kn1", "docker"}, {"kn2", "shop"}} {
		t.Run(c.name, func(t *testing.T) {
			ep := nd.EndpointOf(t, c.name, net)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := nd.Agent.Endpoint(ctx, "cep-name:"+c.namespace+"/"+c.name)
			if err != nil || got.ID != ep.ID {
				t.Fatalf("agent lookup cep-name:%s/%s: got %v, %v; want endpoint %d", c.namespace, c.name, got, err, ep.ID)
			}
			ip := nd.ContainerIP(t, c.name, net)
			bed.Eventually(t, 10*time.Second, "the ipcache entry of "+ip.String()+" in etcd to carry the names", func() error {
				out := nd.Exec(t, "etcdctl", "--endpoints", "http://127.0.0.1:2379", "get", "--print-value-only",
					"cilium/state/ip/v1/default/"+ip.String())
				var v struct{ K8sNamespace, K8sPodName string }
				if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &v); err != nil {
					return fmt.Errorf("ipcache entry %q: %w", out, err)
				}
				if v.K8sNamespace != c.namespace || v.K8sPodName != c.name {
					return fmt.Errorf("ipcache entry names %s/%s, want %s/%s", v.K8sNamespace, v.K8sPodName, c.namespace, c.name)
				}
				return nil
			})
		})
	}
}

// TestPublishRefused: `docker run -p` on a cilium network fails with the plugin's own words and
// leaves nothing behind, on Docker 20.10 (which sends ProgramExternalConnectivity after every Join)
// and on 29 (which sends it only when the endpoint becomes its sandbox's gateway).
func TestPublishRefused(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-net"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)
	out, err := nd.Docker(t, "run", "--rm", "--pull", "never", "--net", net, "-p", "18080:80", bed.Image, "true")
	if err == nil {
		t.Fatalf("docker run -p on a cilium network succeeded: %s", out)
	}
	if !strings.Contains(out, "publishing ports (-p) is not supported on a cilium network") {
		t.Fatalf("docker run -p: got %q, want the plugin's refusal", out)
	}
	bed.Eventually(t, 15*time.Second, "nothing left of the refused run", func() error {
		if extra := bed.NewLinks(base.Links, nd.Links(t)); len(extra) > 0 {
			return fmt.Errorf("links %v", extra)
		}
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return fmt.Errorf("list agent endpoints: %w", err)
		}
		if len(eps) != 0 {
			return fmt.Errorf("agent endpoints: %d", len(eps))
		}
		if extra := bed.NewOwned(base.Allocs, nd.Allocations(t)); len(extra) > 0 {
			return fmt.Errorf("allocations %v", extra)
		}
		return nil
	})
}
