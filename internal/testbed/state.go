package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// State is what a node up is: its one JSON state file (NODE_DIR/node.json), written at the end of Up
// and rewritten when its agent is replaced. Its presence with the node's holder and dockerd running
// is what makes a node up.
type State struct {
	Node          int    `json:"node"`
	NS            string `json:"netns"`
	Name          string `json:"name"` // the node's name in the cluster (the agent's K8S_NODE_NAME)
	Dir           string `json:"dir"`
	IP            string `json:"ip"`
	PodRange      string `json:"podRange"`
	IPv6          bool   `json:"ipv6"`
	Limits        string `json:"agentAPILimits"`
	IP6           string `json:"ip6,omitempty"`
	PodRange6     string `json:"podRange6,omitempty"`
	PeerIP        string `json:"peerIP"`
	DockerHost    string `json:"dockerHost"`
	CiliumSock    string `json:"ciliumSock"`
	PluginSock    string `json:"pluginSock"`
	PolicyDir     string `json:"policyDir"`
	EtcdURL       string `json:"etcdURL"`
	TestImage     string `json:"testImage"`
	PluginMode    string `json:"pluginMode"`
	DockerVersion string `json:"dockerVersion"`
	EngineVersion string `json:"engineVersion"`
	APIVersion    string `json:"apiVersion"`
	Dockerd       string `json:"dockerd"`
	DockerCLI     string `json:"dockerCLI"`
	CiliumVersion string `json:"ciliumVersion"`
	CiliumDir     string `json:"ciliumDir"`
	CiliumDbg     string `json:"ciliumDbg"`
	BedID         string `json:"bedID"`
	HolderPID     int    `json:"holderPID"`
}

// ErrNotUp is the error of a node that has no state file.
var ErrNotUp = errors.New("not up")

func statePath(nd Node) string { return filepath.Join(nd.Dir, "node.json") }

// LoadState reads node nd's state file.
func LoadState(nd Node) (State, error) {
	b, err := os.ReadFile(statePath(nd))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, fmt.Errorf("node %d: %w", nd.N, ErrNotUp)
	}
	if err != nil {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("node %d state %s: %w", nd.N, statePath(nd), err)
	}
	return s, nil
}

// save writes the state file whole: a reader sees the old one or the new one.
func (s State) save(nd Node) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(nd) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(nd))
}

// Env is the state as KEY=VALUE pairs, in order, the names the scripts and people read
// (`testbed env N`).
func (s State) Env() [][2]string {
	b01 := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	return [][2]string{
		{"NODE", strconv.Itoa(s.Node)}, {"NODE_NS", s.NS}, {"NODE_NAME", s.Name}, {"NODE_DIR", s.Dir},
		{"NODE_IP", s.IP}, {"POD_RANGE", s.PodRange}, {"AGENT_IPV6", b01(s.IPv6)}, {"AGENT_API_LIMITS", s.Limits},
		{"NODE_IP6", s.IP6}, {"POD_RANGE6", s.PodRange6}, {"PEER_IP", s.PeerIP}, {"DOCKER_HOST", s.DockerHost},
		{"CILIUM_SOCK", s.CiliumSock}, {"PLUGIN_SOCK", s.PluginSock}, {"POLICY_DIR", s.PolicyDir},
		{"ETCD_URL", s.EtcdURL}, {"TEST_IMAGE", s.TestImage}, {"PLUGIN_MODE", s.PluginMode},
		{"DOCKER_VERSION", s.DockerVersion}, {"DOCKER_ENGINE_VERSION", s.EngineVersion},
		{"DOCKER_API_VERSION", s.APIVersion}, {"DOCKERD", s.Dockerd}, {"DOCKER_CLI", s.DockerCLI},
		{"CILIUM_VERSION", s.CiliumVersion}, {"CILIUM_DIR", s.CiliumDir}, {"CILIUM_DBG", s.CiliumDbg},
		{"TESTBED_ID", s.BedID}, {"MNT_HOLDER_PID", strconv.Itoa(s.HolderPID)},
	}
}

// EnvMap is Env as a map.
func (s State) EnvMap() map[string]string {
	m := map[string]string{}
	for _, kv := range s.Env() {
		m[kv[0]] = kv[1]
	}
	return m
}
