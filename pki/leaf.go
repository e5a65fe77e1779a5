package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// leaf is one certificate of a node: its file name (without suffix) and template.
type leaf struct {
	file string
	tmpl *x509.Certificate
}

// leaves are a node's certificates: etcd's (server, and client to its peers: etcd uses one certificate
// both ways) for the node's address, loopback, its name and localhost, and one client certificate per
// program, named program@node (etcd's user name should auth ever be on).
func leaves(name NodeName, ip netip.Addr, notBefore, notAfter time.Time) []leaf {
	ips := []net.IP{ip.AsSlice()}
	if lo := netip.AddrFrom4([4]byte{127, 0, 0, 1}); ip != lo {
		ips = append(ips, lo.AsSlice())
	}
	if ip.Is6() && ip != netip.IPv6Loopback() { // ::1 only for an IPv6 node: the loopback of its family
		ips = append(ips, netip.IPv6Loopback().AsSlice())
	}
	server := template(EtcdServer+"@"+name.String(), notBefore, notAfter)
	server.DNSNames = []string{name.String(), "localhost"}
	server.IPAddresses = ips
	server.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	out := []leaf{{EtcdServer, server}}
	for _, program := range []string{Agent, Plugin, Policy} {
		c := template(program+"@"+name.String(), notBefore, notAfter)
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		out = append(out, leaf{program, c})
	}
	return out
}

// template is an end-entity certificate for an ECDSA key (digital signature only).
func template(cn string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{subjectO}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
}

// sign completes tmpl (random serial, SubjectKeyId of pub, AuthorityKeyId of the parent) and signs it
// with the parent's key; it returns the certificate's DER.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, error) {
	var err error
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return nil, err
	}
	if tmpl.SubjectKeyId, err = subjectKeyID(pub); err != nil {
		return nil, err
	}
	if tmpl != parent {
		tmpl.AuthorityKeyId = parent.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign %q: %w", tmpl.Subject.CommonName, err)
	}
	return der, nil
}
