package hubble_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cilium-docker/cilium-docker/hubble"
)

// fakeObserver serves a fixed list of flows and records the requests.
type fakeObserver struct {
	observerpb.UnimplementedObserverServer
	flows []*flowpb.Flow
	mu    sync.Mutex
	reqs  []*observerpb.GetFlowsRequest
}

func (o *fakeObserver) GetFlows(req *observerpb.GetFlowsRequest, s grpc.ServerStreamingServer[observerpb.GetFlowsResponse]) error {
	o.mu.Lock()
	o.reqs = append(o.reqs, req)
	o.mu.Unlock()
	for _, f := range o.flows {
		if err := s.Send(&observerpb.GetFlowsResponse{ResponseTypes: &observerpb.GetFlowsResponse_Flow{Flow: f}, NodeName: "n1"}); err != nil {
			return err
		}
	}
	if req.GetFollow() {
		<-s.Context().Done()
	}
	return nil
}

func (o *fakeObserver) ServerStatus(context.Context, *observerpb.ServerStatusRequest) (*observerpb.ServerStatusResponse, error) {
	return &observerpb.ServerStatusResponse{NumFlows: uint64(len(o.flows)), MaxFlows: 4095, Version: "1.20.2"}, nil
}

func serve(t *testing.T, o *fakeObserver) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "hubble.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	observerpb.RegisterObserverServer(srv, o)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return path
}

func tcpFlow(src, dst string, sport, dport uint32, v flowpb.Verdict) *flowpb.Flow {
	ns := func(s string) (string, string) { a, b, _ := strings.Cut(s, "/"); return a, b }
	sns, sn := ns(src)
	dns, dn := ns(dst)
	f := &flowpb.Flow{
		Time:    timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Verdict: v,
		IP:      &flowpb.IP{Source: "10.72.0.5", Destination: "10.72.0.6"},
		Source:  &flowpb.Endpoint{Namespace: sns, PodName: sn, Identity: 1001, Labels: []string{"container:name=" + sn}},
		Destination: &flowpb.Endpoint{Namespace: dns, PodName: dn, Identity: 1002,
			Labels: []string{"container:name=" + dn}},
		L4: &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: sport, DestinationPort: dport,
			Flags: &flowpb.TCPFlags{SYN: true}}}},
		TrafficDirection: flowpb.TrafficDirection_INGRESS,
	}
	if v == flowpb.Verdict_DROPPED {
		f.DropReasonDesc = flowpb.DropReason_POLICY_DENIED
	}
	return f
}

func TestFlowsFilterAndFormat(t *testing.T) {
	o := &fakeObserver{flows: []*flowpb.Flow{
		tcpFlow("docker/app1", "docker/app2", 40000, 8080, flowpb.Verdict_DROPPED),
		tcpFlow("docker/app3", "docker/app2", 40001, 8080, flowpb.Verdict_FORWARDED),
		tcpFlow("docker/app20", "docker/app3", 40002, 8080, flowpb.Verdict_FORWARDED), // prefix only: left out
	}}
	c, err := hubble.New(serve(t, o), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	err = c.Flows(context.Background(), hubble.Query{Containers: []string{"app2"}, Verdict: "dropped"}, func(f hubble.Flow) error {
		got = append(got, f.Line())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("flows of app2: got %d %q, want 2 (app20 is not app2)", len(got), got)
	}
	if !strings.Contains(got[0], "docker/app1:40000 -> docker/app2:8080  TCP SYN  DROPPED (POLICY_DENIED)  ingress") {
		t.Errorf("line: %q", got[0])
	}
	req := o.reqs[0]
	if len(req.Whitelist) != 2 || req.Whitelist[0].SourcePod[0] != "/app2" || req.Whitelist[1].DestinationPod[0] != "/app2" ||
		req.Whitelist[0].Verdict[0] != flowpb.Verdict_DROPPED {
		t.Errorf("request filters: %v", req.Whitelist)
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	o := &fakeObserver{flows: []*flowpb.Flow{tcpFlow("docker/app1", "docker/app2", 1, 2, flowpb.Verdict_FORWARDED)}}
	c, err := hubble.New(serve(t, o), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = c.Flows(ctx, hubble.Query{Follow: true, Containers: []string{"docker/app1"}}, func(hubble.Flow) error {
		n++
		cancel() // the first flow arrived: end the stream as a user's ^C does
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("follow: %d flows, %v; want 1, nil", n, err)
	}
}

func TestUnreachable(t *testing.T) {
	c, err := hubble.New(filepath.Join(t.TempDir(), "none.sock"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.ServerStatus(context.Background())
	if !errors.Is(err, hubble.ErrUnreachable) || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("no server: got %v after %s, want ErrUnreachable at once", err, time.Since(start))
	}
}

func TestQueryErrors(t *testing.T) {
	if _, err := hubble.ParseVerdict("nope"); err == nil {
		t.Error("verdict nope accepted")
	}
	if v, err := hubble.ParseVerdict("forwarded"); v != "FORWARDED" || err != nil {
		t.Errorf("ParseVerdict(forwarded) = %q, %v", v, err)
	}
	c, err := hubble.New(filepath.Join(t.TempDir(), "none.sock"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Flows(context.Background(), hubble.Query{Containers: []string{"a/b/c"}}, nil); err == nil {
		t.Error("container a/b/c accepted")
	}
}
