package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/policy/store"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// TestListShowsAgentVersions: `policy list` shows each node's agent version (from its status key), and
// says so when a node did not report one.
func TestListShowsAgentVersions(t *testing.T) {
	_, u := etcdtest.Start(t, nil)
	st, err := store.Open(store.Config{Endpoints: []string{u}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	rev, err := st.Put(ctx, "a", "kind: CiliumClusterwideNetworkPolicy\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.NodeStatus{
		{Node: "n1", Revision: rev, Applied: map[string]int64{"a": rev}, AgentVersion: "1.20.2"},
		{Node: "n2", Revision: rev, Applied: map[string]int64{"a": rev}, AgentVersion: "1.19.7"},
		{Node: "n3", Revision: rev, Applied: map[string]int64{"a": rev}},
	} {
		if err := st.PutStatus(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := runWith(ctx, cliflags.PolicyViaPlugin, []string{"list", "--etcd-endpoints", u}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("list: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"n1", "agent 1.20.2", "n2", "agent 1.19.7", "n3", "agent unknown"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runWith(ctx, cliflags.PolicyViaPlugin, []string{"list", "--json", "--etcd-endpoints", u}, strings.NewReader(""), &out, &errb); err != nil ||
		!strings.Contains(out.String(), `"agentVersion": "1.20.2"`) {
		t.Errorf("list --json: %v\n%s", err, out.String())
	}
}
