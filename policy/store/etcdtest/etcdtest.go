// Package etcdtest starts embedded etcd servers (the server module of the client the policy store uses)
// for the tests of policy/store and policy/dirsync: one place that knows how to bring one up on free
// loopback ports and wait until it serves.
package etcdtest

import (
	"net"
	"net/url"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// FreeURL is an http URL on a loopback port nothing listens on (at the time of the call).
func FreeURL(t testing.TB) url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}
}

// Start starts an embedded etcd server, stopped at cleanup, and returns it with its client URL. With tls
// the clients are served over HTTPS with that server certificate (and client certificates when it asks).
func Start(t testing.TB, tls *transport.TLSInfo) (*embed.Etcd, string) {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	c, p := FreeURL(t), FreeURL(t)
	if tls != nil {
		c.Scheme = "https"
		cfg.ClientTLSInfo = *tls
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{c}, []url.URL{c}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{p}, []url.URL{p}
	cfg.InitialCluster = cfg.Name + "=" + p.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		t.Fatal("embedded etcd not ready in 20s")
	}
	return e, c.String()
}
