package testbed

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Status writes one line per component of the bed to w; dead is true when a recorded daemon of a node
// that is up does not run.
func (c Config) Status(w io.Writer) (dead bool, err error) {
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format+"\n", a...)
		}
	}
	for _, ns := range []string{c.FabricNS(), c.PeerNS()} {
		if netnsExists(ns) {
			p("%s: present", ns)
		} else {
			p("%s: absent", ns)
		}
	}
	for _, n := range c.NodesLeft() {
		nd, _ := c.Node(n)
		st, _ := LoadState(nd)
		p("node %d versions: docker %s (%s), cilium %s", n, st.DockerVersion, st.EngineVersion, st.CiliumVersion)
		for _, d := range []string{"holder", "etcd", "agent", "plugin", "dockerd"} {
			if _, serr := os.Stat(filepath.Join(nd.Dir, d+".pid")); serr != nil {
				continue
			}
			if pid, ok := RecordedPID(nd.Dir, d); ok {
				p("node %d %s: running pid %d", n, d, pid)
			} else {
				p("node %d %s: DEAD", n, d)
				dead = true
			}
		}
		p("node %d agent health: %s", n, okWord(AgentOK(nd), "Ok", "not Ok"))
		p("node %d dockerd ping: %s", n, okWord(DockerdOK(nd), "OK", "failed"))
		if st.PluginMode == ModeNone {
			p("node %d plugin: none (plugin mode none)", n)
		} else {
			p("node %d plugin activate: %s", n, okWord(PluginOK(nd), "OK", "failed"))
		}
	}
	return dead, err
}

func okWord(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
