package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// ErrOtherSettings is Up's error for a node that is up with other pinned settings: down it first.
var ErrOtherSettings = errors.New("node is up with other settings: down it first")

// step is one step of a node's up, named in the bed's log (kind's create steps).
type step struct {
	name string
	do   func() error
}

// resolved is what Up needs before it takes the lock: the builds, which may take minutes.
type resolved struct {
	opts      Options
	ciliumDir string
	etcdBin   string
	engine    Engine
}

// Up brings node n up with opts and returns its state. A node already up is kept when its pinned
// settings match (ErrOtherSettings when not). A node that failed to come up is torn down again,
// unless opts.KeepOnFail; its log tails go to the bed's log.
func (c Config) Up(n int, opts Options) (State, error) {
	nd, err := c.Node(n)
	if err != nil {
		return State{}, err
	}
	o, err := opts.Normalise(c.Repo)
	if err != nil {
		return State{}, err
	}
	if o.PluginMode == ModeProcess && !executable(o.Plugin.Bin) {
		return State{}, fmt.Errorf("plugin binary %q missing (make build, or PLUGIN_BIN)", o.Plugin.Bin)
	}
	if fi, err := os.Stat(o.AgentConfigDir); err != nil || !fi.IsDir() {
		return State{}, fmt.Errorf("agent config dir %s missing", o.AgentConfigDir)
	}
	if n != 1 && o.PluginMode != ModeStack {
		one, _ := c.Node(1)
		if _, ok := RecordedPID(one.Dir, "etcd"); !ok {
			return State{}, fmt.Errorf("node 1 (etcd) must be up before node %d", n)
		}
	}
	r := resolved{opts: o}
	if r.ciliumDir, err = c.ResolveCilium(o.Cilium); err != nil { // builds run before the lock is taken
		return State{}, err
	}
	if r.etcdBin, err = c.ResolveEtcd(); err != nil {
		return State{}, err
	}
	if r.engine, err = c.ResolveEngine(o.Docker); err != nil {
		return State{}, err
	}
	unlock, err := c.lock()
	if err != nil {
		return State{}, err
	}
	defer unlock()
	if st, up := c.isUp(nd); up {
		return c.keep(nd, st, o)
	}
	return c.up(nd, r)
}

// keep checks a node that is up against the pinned settings.
func (c Config) keep(nd Node, st State, o Options) (State, error) {
	p := o.Pinned
	if (p.Docker && st.DockerVersion != o.Docker) || (p.Cilium && st.CiliumVersion != o.Cilium) ||
		(p.IPv6 && st.IPv6 != o.IPv6) || (p.Limits && st.Limits != o.Limits) {
		return st, fmt.Errorf("node %d is up with docker %s, cilium %s, IPv6 %t, API limits %s; asked %s, %s, %t, %s: %w",
			nd.N, st.DockerVersion, st.CiliumVersion, st.IPv6, st.Limits, o.Docker, o.Cilium, o.IPv6, o.Limits, ErrOtherSettings)
	}
	c.logf("node %d already up (docker %s, cilium %s)", nd.N, st.DockerVersion, st.CiliumVersion)
	if st.PluginMode != o.PluginMode {
		c.logf("WARNING: node %d is up in plugin mode %s, not %s", nd.N, st.PluginMode, o.PluginMode)
	}
	return st, nil
}

// isUp reports whether node nd is up: its holder and dockerd run, it has a state file, and in process
// mode its agent (and plugin) run.
func (c Config) isUp(nd Node) (State, bool) {
	st, err := LoadState(nd)
	if err != nil {
		return st, false
	}
	for _, d := range c.daemonsOf(st.PluginMode, nd.N) {
		if _, ok := RecordedPID(nd.Dir, d); !ok && d != "etcd" {
			return st, false
		}
	}
	_, holder := RecordedPID(nd.Dir, "holder")
	return st, holder
}

// daemonsOf are the daemons the bed runs on node n in mode, in start order.
func (c Config) daemonsOf(mode string, n int) []string {
	switch mode {
	case ModeStack:
		return []string{"dockerd"}
	case ModeNone:
		if n == 1 {
			return []string{"etcd", "agent", "dockerd"}
		}
		return []string{"agent", "dockerd"}
	}
	if n == 1 {
		return []string{"etcd", "agent", "plugin", "dockerd"}
	}
	return []string{"agent", "plugin", "dockerd"}
}

// up runs the steps of a node's up, under the lock; the node is down or stale.
func (c Config) up(nd Node, r resolved) (State, error) {
	o := r.opts
	if err := c.downStale(nd); err != nil {
		return State{}, err
	}
	t0 := time.Now()
	c.logf("up node %d (%s, %s, pods %s, dir %s, docker %s, cilium %s)", nd.N, nd.NS, nd.IP, nd.PodRange, nd.Dir, o.Docker, o.Cilium)
	steps := []step{
		{"host state", c.SaveHost},
		{"node directory", func() error { return prepareNodeDir(nd) }},
		{"node commands", func() error { return writeNodeBin(nd, r.ciliumDir) }},
		{"fabric", c.EnsureFabric},
		{"node network", func() error { return c.NodeNetwork(nd, o.IPv6) }},
		{"mount namespace", func() error { return c.mountNamespace(nd, o) }},
	}
	dockerd := []step{
		{"dockerd", func() error { return c.StartDockerd(nd, r.engine, o.PluginMode == ModeStack, o.DockerdLogLevel) }},
		{"dockerd ready", func() error { return c.waitHealthy(nd, "dockerd", o.Timeouts) }},
		{"test image", func() error { return c.ImportImage(nd) }},
	}
	if o.PluginMode == ModeStack {
		// etcd, the agent and the plugin are containers of the node's dockerd, which the test brings up
		// with docker compose from compose/nodeN.yml: the bed gives the node its namespaces and dockerd.
		steps = append(steps, dockerd...)
	} else {
		if nd.N == 1 {
			steps = append(steps, step{"etcd", func() error { return c.StartEtcd(nd, r.etcdBin) }},
				step{"etcd ready", func() error { return c.waitHealthy(nd, "etcd", o.Timeouts) }})
		} else {
			steps = append(steps, step{"etcd reachable", func() error {
				return c.waitFor(nd, "etcd at "+nd.EtcdURL+" from "+nd.NS, o.Timeouts.Etcd, "", func() bool { return EtcdHealthy(nd, nd.EtcdURL) })
			}})
		}
		steps = append(steps, step{"agent", func() error {
			return c.StartAgent(nd, Agent{CiliumDir: r.ciliumDir, ConfigDir: o.AgentConfigDir, IPv6: o.IPv6, Limits: o.Limits, Args: o.AgentArgs})
		}})
		if o.PluginMode == ModeProcess {
			steps = append(steps, step{"plugin", func() error { return c.StartPlugin(nd, o.Plugin) }})
		}
		steps = append(steps, dockerd...)
		steps = append(steps, step{"agent ready", func() error { return c.waitHealthy(nd, "agent", o.Timeouts) }})
		if o.PluginMode == ModeProcess {
			steps = append(steps, step{"plugin ready", func() error { return c.waitHealthy(nd, "plugin", o.Timeouts) }})
		}
	}
	var st State
	steps = append(steps, step{"state", func() (err error) {
		st, err = c.writeState(nd, r)
		return err
	}})
	for _, s := range steps {
		if err := s.do(); err != nil {
			err = fmt.Errorf("up node %d: %s: %w", nd.N, s.name, err)
			c.failedUp(nd, o, err)
			return State{}, err
		}
	}
	mode := ""
	if o.PluginMode == ModeStack {
		mode = " for a compose stack"
	}
	c.logf("node %d up%s in %.2fs", nd.N, mode, time.Since(t0).Seconds())
	return st, nil
}

// failedUp shows the logs of a node whose up failed and tears it down, unless asked to keep it.
func (c Config) failedUp(nd Node, o Options, err error) {
	c.logf("%v", err)
	if c.Log != nil {
		_ = TailLogs(c.Log, nd, 40)
	}
	if o.KeepOnFail {
		c.logf("node %d left as it is (keep on fail): testbed down %d", nd.N, nd.N)
		return
	}
	if derr := c.down(nd); derr != nil {
		c.logf("down after the failed up: %v", derr)
	}
}

func prepareNodeDir(nd Node) error {
	if left := hostMountsUnder(nd.Dir); len(left) > 0 {
		return fmt.Errorf("host mounts under %s remain: %v", nd.Dir, left)
	}
	if err := os.RemoveAll(nd.Dir); err != nil {
		return err
	}
	for _, d := range []string{"plugins", "cilium-run", "cgsave", "cgroup2", "policies", "lib", "bin"} {
		if err := os.MkdirAll(filepath.Join(nd.Dir, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// writeNodeBin writes the node's `docker` and `cilium` for exec.
func writeNodeBin(nd Node, ciliumDir string) error {
	if err := os.Symlink(DockerCLI(), filepath.Join(nd.Dir, "bin", "docker")); err != nil {
		return err
	}
	return WriteCiliumCLI(nd, ciliumDir)
}

// mountNamespace starts the holder of the node's private mount namespace and makes the node's mounts
// in it (testbed _mounts).
func (c Config) mountNamespace(nd Node, o Options) error {
	h, err := c.StartHolder(nd)
	if err != nil {
		return err
	}
	resolv := ""
	if o.IPv6 {
		host, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			return err
		}
		resolv = filepath.Join(nd.Dir, "resolv.conf")
		if err := os.WriteFile(resolv, []byte(resolvWithIPv6(string(host), peerIP6)), 0o644); err != nil {
			return err
		}
	}
	args := []string{"--mount=/proc/" + strconv.Itoa(h) + "/ns/mnt", "--net=/run/netns/" + nd.NS, "--",
		c.Self, "_mounts", nd.Dir, strconv.FormatBool(o.PluginMode == ModeStack), resolv}
	if out, err := exec.Command("nsenter", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("node mounts: %w: %s", err, out)
	}
	c.logf("mount namespace ready")
	return nil
}

// writeState writes the node's state file at the end of its up.
func (c Config) writeState(nd Node, r resolved) (State, error) {
	o := r.opts
	st := State{Node: nd.N, NS: nd.NS, Name: nd.NS, Dir: nd.Dir, IP: nd.IP, PodRange: nd.PodRange, IPv6: o.IPv6,
		Limits: o.Limits, PeerIP: peerIP, DockerHost: "unix://" + nd.DockerSocket(), CiliumSock: nd.AgentSocket(),
		PluginSock: nd.PluginSocket(), PolicyDir: filepath.Join(nd.Dir, "policies"), EtcdURL: nd.EtcdURL,
		TestImage: TestImage, PluginMode: o.PluginMode, DockerVersion: o.Docker, Dockerd: r.engine.Dockerd,
		DockerCLI: DockerCLI(), CiliumVersion: o.Cilium, CiliumDir: r.ciliumDir,
		CiliumDbg: filepath.Join(r.ciliumDir, "bin", "cilium-dbg"), BedID: c.ID}
	if o.IPv6 {
		st.IP6, st.PodRange6 = nd.IP6, nd.Range6
	}
	st.EngineVersion, st.APIVersion, _ = EngineVersion(nd)
	st.HolderPID, _ = RecordedPID(nd.Dir, "holder")
	return st, st.save(nd)
}
