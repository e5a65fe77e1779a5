package pki

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInitMakesACA(t *testing.T) {
	d := newCA(t)
	c := readCert(t, filepath.Join(d.Path, CACert))
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA %v, valid %v, MaxPathLen %d (zero %v); want a CA with path length 0",
			c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("KeyUsage %v, want %v", c.KeyUsage, want)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA || c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("key %v signed %v, want ECDSA with SHA-256", c.PublicKeyAlgorithm, c.SignatureAlgorithm)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("no SubjectKeyId")
	}
	if other := readCert(t, filepath.Join(newCA(t).Path, CACert)); other.Subject.String() == c.Subject.String() {
		t.Errorf("two clusters' CAs share the name %q", c.Subject)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if got, want := c.NotAfter.Sub(testNow()), 3650*24*time.Hour; got != want {
		t.Errorf("valid for %v after now, want %v", got, want)
	}
	if c.SerialNumber.BitLen() < 64 || c.SerialNumber.BitLen() > 128 || c.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v: want a positive random 128-bit number", c.SerialNumber)
	}
}

func TestInitModes(t *testing.T) {
	d := newCA(t)
	for p, want := range map[string]os.FileMode{d.Path: fs.ModeDir | 0o700, filepath.Join(d.Path, CAKey): 0o600,
		filepath.Join(d.Path, CACert): 0o644} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestInitRefusesAnExistingCA(t *testing.T) {
	d := newCA(t)
	before := listTree(t, d.Path)
	key, _ := os.ReadFile(filepath.Join(d.Path, CAKey))
	_, err := d.Init(testNow())
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Init: %v, want an error wrapping fs.ErrExist", err)
	}
	if after := listTree(t, d.Path); len(after) != len(before) {
		t.Errorf("files %v after the refused Init, want %v", after, before)
	}
	if again, _ := os.ReadFile(filepath.Join(d.Path, CAKey)); string(again) != string(key) {
		t.Error("the refused Init changed ca.key")
	}
}

// A ca.crt alone (its key lost or kept elsewhere) is refused too, and no key is left beside it.
func TestInitRefusesAStrayCert(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CACert), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (Dir{Path: dir}).Init(testNow()); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Init: %v, want an error wrapping fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, CAKey)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ca.key after the refused Init: %v, want none", err)
	}
}

// A key path that is a symlink is never followed (O_NOFOLLOW|O_EXCL): its target is not written.
func TestInitDoesNotFollowASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(dir, CAKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := (Dir{Path: dir}).Init(testNow()); err == nil {
		t.Fatal("Init through a symlinked ca.key succeeded")
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symlink target: %v, want not written", err)
	}
}

func TestInitRefusesAWritableDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := (Dir{Path: dir}).Init(testNow()); err == nil {
		t.Fatal("Init in a world-writable directory succeeded")
	}
	if _, err := os.Lstat(filepath.Join(dir, CAKey)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ca.key: %v, want none", err)
	}
}
