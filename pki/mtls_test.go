package pki

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// handshake runs a TLS server on 127.0.0.1 as etcd runs with --client-cert-auth (its certificate,
// client certificates required and verified against the CA) and connects with client (nil: none),
// verifying the server as a client of the CA does. It returns the client's error, else the server's.
func handshake(t *testing.T, dir string, client *tls.Certificate) error {
	t.Helper()
	srv, err := tls.LoadX509KeyPair(filepath.Join(dir, EtcdServer+".crt"), filepath.Join(dir, EtcdServer+".key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := pool(t, filepath.Join(dir, CACert))
	clock := func() time.Time { return testNow().Add(time.Hour) }
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots, MinVersion: tls.VersionTLS12, Time: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte("ok"))
		}
		served <- err
	}()
	cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12, Time: clock}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), cfg)
	if err == nil {
		// TLS 1.3: the client learns that the server refused its certificate on the first read.
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadAll(conn)
		conn.Close()
	}
	if serr := <-served; serr != nil {
		return serr
	}
	return err
}

func loadPair(t *testing.T, dir, role string) *tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, role+".crt"), filepath.Join(dir, role+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestMutualTLS(t *testing.T) {
	_, dir := newNode(t)
	_, other := newNode(t)
	for _, role := range []string{Agent, Plugin, Policy} {
		if err := handshake(t, dir, loadPair(t, dir, role)); err != nil {
			t.Errorf("%s's certificate: %v", role, err)
		}
	}
	if err := handshake(t, dir, nil); err == nil {
		t.Error("a client without a certificate was accepted")
	} else {
		t.Logf("no certificate: %v", err)
	}
	if err := handshake(t, dir, loadPair(t, other, Agent)); err == nil {
		t.Error("a client with another CA's certificate was accepted")
	} else {
		t.Logf("another CA's certificate: %v", err)
	}
}
