package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	caDays   = 3650            // the CA's validity: ten years
	backdate = 5 * time.Minute // NotBefore this far back: the nodes' clocks may be a little behind
	day      = 24 * time.Hour
	subjectO = "cilium-docker"
)

// Dir is a PKI directory: the CA (CACert, CAKey) at its top, one subdirectory per node.
type Dir struct{ Path string }

// Result is what a call wrote: the directory, its files, and when their certificates expire.
type Result struct {
	Dir      string
	Files    []string
	NotAfter time.Time
}

// ca is the loaded CA: its certificate (and PEM, copied to the nodes) and key.
type ca struct {
	cert *x509.Certificate
	pem  []byte
	key  *ecdsa.PrivateKey
}

// Init makes the CA: a P-256 key (CAKey, 0600) and its self-signed certificate (CACert), valid ten
// years from now, signing certificates only (path length 0). An existing CA file is refused (wrapping
// fs.ErrExist) and nothing is changed.
func (d Dir) Init(now time.Time) (Result, error) {
	keyPath, certPath := filepath.Join(d.Path, CAKey), filepath.Join(d.Path, CACert)
	if err := ensureDir(d.Path); err != nil {
		return Result{}, fmt.Errorf("certs init: %w", err)
	}
	for _, p := range []string{keyPath, certPath} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return Result{}, fmt.Errorf("certs init: %s exists (%w): the CA is made once; remove %s and %s to start a new cluster",
				p, fs.ErrExist, keyPath, certPath)
		}
	}
	key, err := newKey()
	if err != nil {
		return Result{}, fmt.Errorf("certs init: %w", err)
	}
	skid, err := subjectKeyID(key.Public())
	if err != nil {
		return Result{}, fmt.Errorf("certs init: %w", err)
	}
	// The key's ID in the name tells two clusters' CAs apart (in openssl's output, in Go's errors).
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: fmt.Sprintf("cilium-docker etcd CA %x", skid[:4]), Organization: []string{subjectO}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caDays * day),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Result{}, fmt.Errorf("certs init: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return Result{}, fmt.Errorf("certs init: %w", err)
	}
	if err := writeNew(keyPath, keyPEM, keyMode); err != nil {
		return Result{}, fmt.Errorf("certs init: ca key: %w", err)
	}
	if err := writeNew(certPath, encodeCert(der), certMode); err != nil {
		_ = os.Remove(keyPath)
		return Result{}, fmt.Errorf("certs init: ca certificate: %w", err)
	}
	return Result{Dir: d.Path, Files: []string{certPath, keyPath}, NotAfter: tmpl.NotAfter}, nil
}

// loadCA reads the CA and checks that its key is the certificate's and that it is valid now.
func (d Dir) loadCA(now time.Time) (ca, error) {
	certPEM, err := os.ReadFile(filepath.Join(d.Path, CACert))
	if errors.Is(err, fs.ErrNotExist) {
		return ca{}, fmt.Errorf("no CA in %s: run cilium-docker certs init first (%w)", d.Path, err)
	}
	if err != nil {
		return ca{}, fmt.Errorf("read CA: %w", err)
	}
	cert, err := decodeCert(certPEM)
	if err != nil {
		return ca{}, fmt.Errorf("CA certificate %s: %w", CACert, err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(d.Path, CAKey))
	if err != nil {
		return ca{}, fmt.Errorf("read CA key: %w", err)
	}
	key, err := decodeKey(keyPEM)
	if err != nil {
		return ca{}, fmt.Errorf("CA key %s: %w", CAKey, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return ca{}, fmt.Errorf("CA key %s is not the key of %s", CAKey, CACert)
	}
	if !cert.IsCA || now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return ca{}, fmt.Errorf("CA certificate %s: not a CA valid now (valid %s to %s)", CACert,
			cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	return ca{cert: cert, pem: certPEM, key: key}, nil
}
