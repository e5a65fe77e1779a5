package pki

import (
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testNow is the tests' clock: certificates are made and verified at it.
func testNow() time.Time { return time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC) }

// newCA makes a CA in a fresh directory.
func newCA(t *testing.T) Dir {
	t.Helper()
	d := Dir{Path: filepath.Join(t.TempDir(), "pki")}
	if _, err := d.Init(testNow()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return d
}

// node1 is the request of the README's example node.
func node1(t *testing.T) NodeRequest {
	t.Helper()
	n, err := ParseNodeName("node1")
	if err != nil {
		t.Fatal(err)
	}
	return NodeRequest{Name: n, IP: netip.MustParseAddr("192.168.77.2"), Days: 365}
}

// newNode makes node1's files under a fresh CA.
func newNode(t *testing.T) (Dir, string) {
	t.Helper()
	d := newCA(t)
	r, err := d.Node(testNow(), node1(t))
	if err != nil {
		t.Fatalf("Node: %v", err)
	}
	return d, r.Dir
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s: no CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// listTree lists every path under root with its mode, to compare before and after a refused call.
func listTree(t *testing.T, root string) map[string]os.FileMode {
	t.Helper()
	out := map[string]os.FileMode{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out[p] = fi.Mode()
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}
