package bed

import (
	"time"

	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// PeerAddr is the bed's "outside" host on the fabric (netns cdpeer), the default gateway of every node.
const PeerAddr = "192.168.77.1"

// TryPeer runs a command in the peer netns (the host's binaries: busybox, bash) and returns its
// output, or an error carrying its stderr; it never fails the test, for checks that expect failure.
func TryPeer(timeout time.Duration, args ...string) (string, error) {
	return execOn(timeout, testbed.Peer, args...)
}

// TryExec is Exec that returns the error instead of failing the test.
func (nd *Node) TryExec(timeout time.Duration, args ...string) (string, error) {
	return execOn(timeout, nd.N, args...)
}

// IP is the node's address on the fabric.
func (nd *Node) IP() string { return nd.env["NODE_IP"] }
