package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// NodeRequest is one node's certificates: its checked name and address (ParseNodeName, ParseNodeIP),
// the etcd endpoints its agent connects to (ParseEndpoint each; empty: its own, https://IP:2379), how
// many days the certificates are valid, and whether an existing node's files are replaced (renewal).
type NodeRequest struct {
	Name      NodeName
	IP        netip.Addr
	Endpoints []string
	Days      int
	Force     bool
}

// Node makes a node's directory (Dir/NAME, 0700): a copy of the CA certificate, etcd's certificate and
// the client certificates of cilium-agent, the plugin and the policy commands (keys 0600), and the
// agent's etcd.config. The files are written into a temporary directory beside it and renamed into
// place together; on any error nothing is left. An existing node is refused (wrapping fs.ErrExist)
// unless r.Force, which replaces its directory whole.
func (d Dir) Node(now time.Time, r NodeRequest) (res Result, err error) {
	if r.Name == (NodeName{}) || !r.IP.IsValid() {
		return Result{}, errors.New("certs node: a node name and address are required")
	}
	if r.Days <= 0 {
		return Result{}, fmt.Errorf("certs node: %d days: want at least 1", r.Days)
	}
	final := filepath.Join(d.Path, r.Name.String())
	c, err := d.loadCA(now)
	if err != nil {
		return Result{}, fmt.Errorf("certs node %s: %w", r.Name, err)
	}
	notAfter := now.Add(time.Duration(r.Days) * day)
	if notAfter.After(c.cert.NotAfter) {
		return Result{}, fmt.Errorf("certs node %s: %d days would outlive the CA, which expires %s: make a new CA (certs init in another --dir) or fewer days",
			r.Name, r.Days, c.cert.NotAfter.Format(time.DateOnly))
	}
	if _, err := os.Lstat(final); err == nil && !r.Force {
		return Result{}, fmt.Errorf("certs node %s: %s exists (%w): --force renews its certificates and keys (then restart etcd, cilium-agent and cilium-docker on %s)",
			r.Name, final, fs.ErrExist, r.Name)
	}
	tmp, err := os.MkdirTemp(d.Path, "."+r.Name.String()+".new-")
	if err != nil {
		return Result{}, fmt.Errorf("certs node %s: %w", r.Name, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	endpoints := r.Endpoints
	if len(endpoints) == 0 {
		endpoints = []string{defaultEndpoint(r.IP)}
	}
	files, err := writeNode(tmp, c, leaves(r.Name, r.IP, now.Add(-backdate), notAfter), agentEtcdConfig(r.Name, endpoints))
	if err != nil {
		return Result{}, fmt.Errorf("certs node %s: %w", r.Name, err)
	}
	if err := replaceDir(tmp, final); err != nil {
		return Result{}, fmt.Errorf("certs node %s: %w", r.Name, err)
	}
	for i, f := range files {
		files[i] = filepath.Join(final, f)
	}
	return Result{Dir: final, Files: files, NotAfter: notAfter}, nil
}

// writeNode writes a node's files into dir and returns their names.
func writeNode(dir string, c ca, ls []leaf, agentConfig []byte) ([]string, error) {
	files := []string{CACert, AgentEtcdConfig}
	if err := writeNew(filepath.Join(dir, CACert), c.pem, certMode); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, AgentEtcdConfig), agentConfig, certMode); err != nil {
		return nil, err
	}
	for _, l := range ls {
		key, err := newKey()
		if err != nil {
			return nil, err
		}
		der, err := sign(l.tmpl, c.cert, key.Public(), c.key)
		if err != nil {
			return nil, err
		}
		keyPEM, err := encodeKey(key)
		if err != nil {
			return nil, err
		}
		if err := writeNew(filepath.Join(dir, l.file+keySuffix), keyPEM, keyMode); err != nil {
			return nil, err
		}
		if err := writeNew(filepath.Join(dir, l.file+certSuffix), encodeCert(der), certMode); err != nil {
			return nil, err
		}
		files = append(files, l.file+certSuffix, l.file+keySuffix)
	}
	return files, nil
}

// replaceDir renames tmp to final; an existing final is moved aside first and removed after, or put
// back when the rename fails. A final that appeared meanwhile and is not empty fails the rename.
func replaceDir(tmp, final string) error {
	old := ""
	if _, err := os.Lstat(final); err == nil {
		old = tmp + ".old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("move the old directory aside: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if old != "" {
			_ = os.Rename(old, final)
		}
		return fmt.Errorf("rename into place: %w", err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove the old directory %s: %w", old, err)
		}
	}
	return nil
}
