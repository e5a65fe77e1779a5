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
// place together; on any error before that nothing is left. An existing node is refused (wrapping
// fs.ErrExist) unless r.Force, which renames the new files into its directory (moveIntoPlace).
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
	if err := moveIntoPlace(tmp, final, files, r.Force); err != nil {
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
		files = append(files, l.file+keySuffix, l.file+certSuffix)
	}
	return files, nil
}

// moveIntoPlace renames tmp to final. An existing final (a renewal) keeps its directory, which the
// services' bind mounts hold, and gets tmp's files renamed into it one by one, each key before its
// certificate, only when force (another run may have made it meanwhile); tmp is removed after.
func moveIntoPlace(tmp, final string, files []string, force bool) error {
	fi, err := os.Lstat(final)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("node directory: %w", err)
	}
	if !force {
		return fmt.Errorf("%s appeared meanwhile (%w)", final, fs.ErrExist)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (%s)", final, fi.Mode().Type())
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(tmp, f), filepath.Join(final, f)); err != nil {
			return fmt.Errorf("renew %s: %w (run the command again)", f, err)
		}
	}
	return os.Remove(tmp)
}
