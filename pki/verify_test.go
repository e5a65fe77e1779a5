package pki

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func pool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatalf("%s: no certificate", caFile)
	}
	return p
}

func verify(c *x509.Certificate, roots *x509.CertPool, host string, usage x509.ExtKeyUsage) error {
	_, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: testNow(),
		KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

func TestServerCertVerifies(t *testing.T) {
	_, dir := newNode(t)
	roots := pool(t, filepath.Join(dir, CACert))
	c := readCert(t, filepath.Join(dir, EtcdServer+".crt"))
	for _, host := range []string{"192.168.77.2", "node1", "127.0.0.1", "localhost"} {
		if err := verify(c, roots, host, x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	// etcd's peers present the same certificate as clients.
	if err := verify(c, roots, "", x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("server certificate as a client (peer): %v", err)
	}
	if err := verify(c, roots, "192.168.77.3", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("server certificate verified for another node's address")
	}
	if slices.ContainsFunc(c.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv6loopback) }) {
		t.Errorf("IPv4 node: SAN ::1 in %v, want only the addresses it listens on", c.IPAddresses)
	}
	if len(c.SubjectKeyId) == 0 || len(c.AuthorityKeyId) == 0 {
		t.Errorf("SubjectKeyId %x, AuthorityKeyId %x: want both", c.SubjectKeyId, c.AuthorityKeyId)
	}
	ca := readCert(t, filepath.Join(dir, CACert))
	if string(c.AuthorityKeyId) != string(ca.SubjectKeyId) {
		t.Errorf("AuthorityKeyId %x, want the CA's SubjectKeyId %x", c.AuthorityKeyId, ca.SubjectKeyId)
	}
	if got := c.NotAfter.Sub(testNow()).Hours() / 24; got != 365 {
		t.Errorf("valid %v days after now, want 365", got)
	}
}

func TestClientCertsVerifyAsClientsOnly(t *testing.T) {
	_, dir := newNode(t)
	roots := pool(t, filepath.Join(dir, CACert))
	cns := map[string]bool{}
	for _, role := range []string{Agent, Plugin, Policy} {
		c := readCert(t, filepath.Join(dir, role+".crt"))
		if err := verify(c, roots, "", x509.ExtKeyUsageClientAuth); err != nil {
			t.Errorf("%s as a client: %v", role, err)
		}
		if err := verify(c, roots, "", x509.ExtKeyUsageServerAuth); err == nil {
			t.Errorf("%s verified as a server certificate", role)
		}
		if want := role + "@node1"; c.Subject.CommonName != want {
			t.Errorf("%s: CN %q, want %q", role, c.Subject.CommonName, want)
		}
		if len(c.DNSNames)+len(c.IPAddresses) != 0 {
			t.Errorf("%s: SANs %v %v, want none", role, c.DNSNames, c.IPAddresses)
		}
		cns[c.Subject.CommonName] = true
	}
	if len(cns) != 3 {
		t.Errorf("CNs %v, want three distinct", cns)
	}
}

func TestAnotherCAIsRejected(t *testing.T) {
	_, dir := newNode(t)
	_, other := newNode(t)
	roots := pool(t, filepath.Join(dir, CACert))
	if err := verify(readCert(t, filepath.Join(other, Agent+".crt")), roots, "", x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("a client certificate of another CA verified")
	}
	if err := verify(readCert(t, filepath.Join(other, EtcdServer+".crt")), roots, "node1", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("a server certificate of another CA verified")
	}
}
