package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/labels"
)

// TestImageLabelsDoNotChooseNamespace (issue 19.3): an image built with
// LABEL com.docker.compose.project=shop does not put its containers in namespace shop (and under the
// namespace-wide policies there): dockerd copies the label into the container's, and the plugin
// counts it as the image's. A container that sets the project itself (-l, as compose does) over the
// image's value is in its own project's namespace. The namespace is read from the agent twice: the
// identity's k8s:io.kubernetes.pod.namespace label, and the endpoint's k8s-namespace (cep-name).
func TestImageLabelsDoNotChooseNamespace(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "imgns-net"
	nd.Network(t, net)
	const image, key = "imgns:latest", "com.docker.compose.project"
	nd.Exec(t, "sh", "-c", "c=$(docker create --pull never "+bed.Image+" true) && docker export \"$c\" | "+
		"docker import --change 'LABEL "+key+"=shop' --change 'CMD [\"/bin/sh\"]' - "+image+" >/dev/null && docker rm \"$c\" >/dev/null")
	t.Cleanup(func() { nd.BestEffort(t, "rmi", image) })

	nd.Run(t, "imgns-image", "--net", net, image, "sleep", "100000")
	nd.Run(t, "imgns-own", "-l", key+"=shop2", "--net", net, image, "sleep", "100000")
	for _, c := range []struct{ name, project, namespace, notNamespace string }{
		{"imgns-image", "shop", labels.DefaultNamespace, "shop"},
		{"imgns-own", "shop2", "shop2", "shop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := nd.Must(t, "inspect", "-f", "{{index .Config.Labels \""+key+"\"}}", c.name); got != c.project {
				t.Fatalf("container's %s label: got %q, want %q (dockerd copies the image's, -l overrides it)", key, got, c.project)
			}
			ep := nd.EndpointOf(t, c.name, net)
			l := bed.IdentityLabels(ep)
			if !bed.HasLabel(l, "k8s:"+labels.NamespaceKey+"="+c.namespace) || bed.HasLabel(l, "k8s:"+labels.NamespaceKey+"="+c.notNamespace) {
				t.Errorf("identity labels %v: want k8s:%s=%s, not =%s", l, labels.NamespaceKey, c.namespace, c.notNamespace)
			}
			if want := c.namespace != labels.DefaultNamespace; bed.HasLabel(l, "container:"+key+"="+c.project) != want {
				t.Errorf("identity labels %v: container:%s=%s present, want %v", l, key, c.project, want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if got, err := nd.Agent.Endpoint(ctx, "cep-name:"+c.namespace+"/"+c.name); err != nil || got.ID != ep.ID {
				t.Errorf("agent lookup cep-name:%s/%s: got %v, %v; want endpoint %d", c.namespace, c.name, got, err, ep.ID)
			}
			if got, err := nd.Agent.Endpoint(ctx, "cep-name:"+c.notNamespace+"/"+c.name); err == nil {
				t.Errorf("agent lookup cep-name:%s/%s found endpoint %d, want none", c.notNamespace, c.name, got.ID)
			}
		})
	}
}
