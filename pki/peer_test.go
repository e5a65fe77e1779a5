package pki

import (
	"crypto/x509"
	"net/netip"
	"path/filepath"
	"testing"
)

// TestEtcdCertIsThePeerCert: a three-member etcd (compose/node1.yml, node2.yml) uses each node's etcd
// certificate as its peer certificate. Each member verifies the others' as a server for their address and
// as a client of the CA, and etcd's --peer-cert-allowed-hostname=localhost (its check: the certificate
// verifies for that name) admits the etcd certificates of every node and none of the programs'.
func TestEtcdCertIsThePeerCert(t *testing.T) {
	d := newCA(t)
	roots := pool(t, filepath.Join(d.Path, CACert))
	req2 := node1(t)
	n2, err := ParseNodeName("node2")
	if err != nil {
		t.Fatal(err)
	}
	req2.Name, req2.IP = n2, netip.MustParseAddr("192.168.77.3")
	for _, r := range []NodeRequest{node1(t), req2} {
		res, err := d.Node(testNow(), r)
		if err != nil {
			t.Fatalf("Node %s: %v", r.Name, err)
		}
		c := readCert(t, filepath.Join(res.Dir, EtcdServer+".crt"))
		if err := verify(c, roots, r.IP.String(), x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("%s: peer certificate as a server for %s: %v", r.Name, r.IP, err)
		}
		if err := verify(c, roots, "", x509.ExtKeyUsageClientAuth); err != nil {
			t.Errorf("%s: peer certificate as a client: %v", r.Name, err)
		}
		if err := c.VerifyHostname("localhost"); err != nil {
			t.Errorf("%s: etcd certificate refused by --peer-cert-allowed-hostname=localhost: %v", r.Name, err)
		}
		for _, role := range []string{Agent, Plugin, Policy} {
			if err := readCert(t, filepath.Join(res.Dir, role+".crt")).VerifyHostname("localhost"); err == nil {
				t.Errorf("%s: %s's client certificate passes --peer-cert-allowed-hostname=localhost: it could act as a peer", r.Name, role)
			}
		}
	}
}
