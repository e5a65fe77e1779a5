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
