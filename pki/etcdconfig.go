package pki

import (
	"fmt"
	"path"
	"strings"
)

// agentEtcdConfig is cilium-agent's etcd client configuration (--kvstore-opt etcd.config=FILE; etcd's
// client YAML): the endpoints, and the CA and the agent's certificate and key where the services mount
// the node's directory (MountDir). Values are double-quoted YAML strings (Go's %q of ASCII text).
func agentEtcdConfig(name NodeName, endpoints []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# cilium-agent's etcd client configuration on node %s, written by cilium-docker certs node.\n", name)
	fmt.Fprintf(&b, "# Read as --kvstore-opt etcd.config=%s; the paths are where the node's directory is mounted.\n",
		path.Join(MountDir, AgentEtcdConfig))
	b.WriteString("endpoints:\n")
	for _, e := range endpoints {
		fmt.Fprintf(&b, "  - %q\n", e)
	}
	fmt.Fprintf(&b, "trusted-ca-file: %q\n", path.Join(MountDir, CACert))
	fmt.Fprintf(&b, "cert-file: %q\n", path.Join(MountDir, Agent+certSuffix))
	fmt.Fprintf(&b, "key-file: %q\n", path.Join(MountDir, Agent+keySuffix))
	return []byte(b.String())
}
