package main

import (
	"testing"
)

// The plumbing verbs refuse a malformed command line with 2 before they touch the bed.
func TestPlumbingUsage(t *testing.T) {
	t.Setenv("TESTBED_DIR", t.TempDir())
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"_pid", "1"}, 2},
		{[]string{"_pid", "x", "agent"}, 2},
		{[]string{"_pid", "1", "agent"}, 1}, // no record: not running, nothing printed
		{[]string{"_signal", "1", "agent", "BOGUS"}, 2},
		{[]string{"_launch", "1", "etcd", "etcd"}, 2}, // no "--"
		{[]string{"_host", "keep"}, 2},
		{[]string{"_fabric", "sideways"}, 2},
		{[]string{"_node-net", "1", "yes"}, 2},
		{[]string{"_nodes-left", "--up"}, 2},
		{[]string{"_engine-version", "1", "build"}, 2},
		{[]string{"_start-agent", "1"}, 2},
	} {
		if out, code := runArgs(c.args...); code != c.code || (code == 1 && out != "") {
			t.Errorf("testbed %v: exit %d, printed %q; want %d", c.args, code, out, c.code)
		}
	}
	t.Setenv("TESTBED_ID", "Bad-ID")
	if _, code := runArgs("_pid", "1", "agent"); code != 1 {
		t.Errorf("TESTBED_ID=Bad-ID: exit %d, want 1", code)
	}
}
