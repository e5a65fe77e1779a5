package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium-docker/cilium-docker/podrange"
)

// writeRangeFiles writes the claim's ranges into dir as the agent reads its flags from a directory
// (cilium-agent --config-dir: the file's name is the flag, its content the value): ipv4-range and, with
// an IPv6 range, ipv6-range; a family the claim lacks has its stale file removed. Each file is written
// beside its final name and renamed into place, so the agent's start never reads half a range.
func writeRangeFiles(dir string, c podrange.Claim) error {
	for _, f := range []struct {
		name string
		v    string
	}{{"ipv4-range", orEmpty(c.IPv4.IsValid(), c.IPv4.String())}, {"ipv6-range", orEmpty(c.IPv6.IsValid(), c.IPv6.String())}} {
		path := filepath.Join(dir, f.name)
		if f.v == "" {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("remove stale %s: %w", path, err)
			}
			continue
		}
		if err := writeAtomic(path, f.v+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func orEmpty(ok bool, s string) string {
	if !ok {
		return ""
	}
	return s
}

func writeAtomic(path, content string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.WriteString(content); err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
