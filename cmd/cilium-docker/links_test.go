package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDaemonLinks holds what the plugin daemon must not link, for its resident memory (README, "two
// binaries"): Cilium's policy parser and Kubernetes apimachinery (about 12 MB from package
// initialisation) and the etcd client with gRPC (about 8 MB): the policy commands and the policy sync
// run in cilium-docker-policy, the sync as the daemon's child. depguard (.golangci.yml) checks each file's imports; this
// checks everything the binary links.
func TestDaemonLinks(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/cilium-docker/cilium-docker/policy",
		"github.com/cilium/cilium/pkg/policy",
		"github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2",
		"k8s.io/apimachinery/",
		"go.etcd.io/etcd/",
		"github.com/cilium/cilium/pkg/kvstore", // and its allocator: the identity GC runs in the policy sync
		"github.com/cilium-docker/cilium-docker/identitygc",
		"google.golang.org/grpc",
	}
	n := 0
	for _, pkg := range strings.Fields(string(out)) {
		n++
		for _, f := range forbidden {
			if pkg == f || strings.HasSuffix(f, "/") && strings.HasPrefix(pkg, f) || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("the plugin daemon links %s (forbidden: %s)", pkg, f)
			}
		}
	}
	if n < 50 {
		t.Fatalf("go list -deps listed %d packages: not the daemon's dependencies?", n)
	}
}
