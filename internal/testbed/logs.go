package testbed

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// tailWindow is how much of a log's end TailLogs reads: enough for any lines it is asked for.
const tailWindow = 1 << 20

// TailLogs writes the last lines of node nd's etcd, agent, plugin and dockerd logs to w.
func TailLogs(w io.Writer, nd Node, lines int) error {
	for _, d := range Daemons {
		path := filepath.Join(nd.Dir, d+".log")
		tail, err := tailFile(path, lines)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "==== node %d %s.log (last %d lines) ====\n%s", nd.N, d, lines, tail); err != nil {
			return err
		}
	}
	return nil
}

// tailFile is the last n lines of the file at path.
func tailFile(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-tailWindow, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return lastLines(b, n), nil
}

// lastLines is the last n lines of b, each ending in a newline.
func lastLines(b []byte, n int) []byte {
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 || n <= 0 {
		return nil
	}
	ls := bytes.Split(b, []byte("\n"))
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return append(bytes.Join(ls, []byte("\n")), '\n')
}
