package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/cilium-docker/cilium-docker/policy/store"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// writeCert writes a certificate for 127.0.0.1 signed by parent (self-signed when nil) and its key.
func writeCert(t *testing.T, dir, name string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        ca, BasicConstraintsValid: true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cp, kp := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, cp, kp
}

// TestStoreTLS: etcd with client certificates, as the agents' kvstore often is.
func TestStoreTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile, _ := writeCert(t, dir, "ca", true, nil, nil)
	_, _, srvCert, srvKey := writeCert(t, dir, "server", false, ca, caKey)
	_, _, cliCert, cliKey := writeCert(t, dir, "client", false, ca, caKey)

	_, url := etcdtest.Start(t, &transport.TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, ClientCertAuth: true})

	ctx := context.Background()
	s, err := store.Open(store.Config{Endpoints: []string{url}, CAFile: caFile, CertFile: cliCert, KeyFile: cliKey,
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rev, err := s.Put(ctx, "a", "doc a")
	if err != nil {
		t.Fatal(err)
	}
	if pols, at, err := s.List(ctx); err != nil || at != rev || len(pols) != 1 {
		t.Fatalf("List over TLS: %+v at %d, %v", pols, at, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	changes := make(chan store.Change, 1)
	done := make(chan error, 1)
	go func() { done <- s.Watch(wctx, rev-1, changes) }()
	select {
	case ch := <-changes:
		if ch.Key != "a" || ch.Revision != rev {
			t.Errorf("watch over TLS: %+v", ch)
		}
	case err := <-done:
		t.Fatalf("watch over TLS ended: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("watch over TLS after cancel: %v", err)
	}

	// Without a client certificate etcd refuses the connection.
	bare, err := store.Open(store.Config{Endpoints: []string{url}, CAFile: caFile, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if _, _, err := bare.List(ctx); err == nil {
		t.Fatal("List without a client certificate: no error")
	}
}
