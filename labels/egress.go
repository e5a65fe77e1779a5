package labels

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// EgressKey is the container label that holds the container's egress to an allow-list of DNS names
// (the egress package parses it). It is never an identity label itself (io.cilium is reserved): the
// container's identity gets EgressStampKey instead, so that containers with different lists, or none,
// never share an identity, and the generated policy, which selects the whole identity, selects only
// containers with this list.
const EgressKey = "io.cilium.egress"

// EgressStampKey is the identity label (container:cilium-docker/egress=<hash of the list>) the plugin
// stamps on a container with an EgressKey label of its own. No container label may take it.
const EgressStampKey = "cilium-docker/egress"

// EgressLabel is the reason EgressKey is left out of the identity: the stamp stands for it.
const EgressLabel Reason = "the egress allow-list, stamped as " + EgressStampKey

// Egress returns the container's own EgressKey value: given with `docker run -l` or compose's labels,
// never its image's. fromImage reports a value equal to the image's label, which dockerd copied into
// the container's labels and which therefore does not count (an image must not set its own egress),
// whatever ImageLabels admits.
func (p Policy) Egress(in, image map[string]string) (value string, ok, fromImage bool) {
	v, ok := in[EgressKey]
	if !ok {
		return "", false, false
	}
	if iv, inImage := image[EgressKey]; inImage && iv == v {
		return "", false, true
	}
	return v, true, false
}

// egressStamp is the identity label that stands for the allow-list v.
func egressStamp(v string) string {
	sum := sha256.Sum256([]byte(v))
	return Source + ":" + EgressStampKey + "=" + hex.EncodeToString(sum[:])[:16]
}

// IsEgressStamp reports whether l is an identity label EgressStamp stamped: the endpoint's container
// has an allow-list label of its own.
func IsEgressStamp(l string) bool { return strings.HasPrefix(l, Source+":"+EgressStampKey+"=") }
