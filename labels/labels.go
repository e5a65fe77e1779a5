package labels

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Source is the Cilium label source of every container label: policies select container:<key>.
const Source = "container"

// Unlabelled is the identity label of a container that contributes no label of its own: without
// any label the agent keeps the endpoint at reserved:init, which passes no traffic.
const Unlabelled = Source + ":cilium-docker/unlabelled=true"

// Max caps the labels one container contributes to its identity.
const Max = 64

// DefaultExclude lists the labels that would give each replica, config change or image build its
// own identity. A pattern ending in "*" is a prefix.
var DefaultExclude = []string{
	"com.docker.compose.*",
	"org.opencontainers.image.*",
	"org.label-schema.*",
	"com.docker.desktop.*",
	"desktop.docker.io/*",
	"maintainer",
	// Nomad's docker driver: the allocation ID is unique per allocation and the node labels differ per
	// node, so either would give each allocation an identity of its own (and, without Cilium's
	// operator, nothing collects those in etcd). Job, task group, task and namespace stay: one task
	// group is one identity.
	"com.hashicorp.nomad.alloc_id",
	"com.hashicorp.nomad.node_id",
	"com.hashicorp.nomad.node_name",
}

// DefaultInclude lists labels kept although an exclude pattern matches them.
var DefaultInclude = []string{"com.docker.compose.project", "com.docker.compose.service"}

// reservedKeyPrefixes can never come from a container: they would let a container pose as a
// Kubernetes pod, namespace or Cilium-managed entity in selectors written with the any: source.
var reservedKeyPrefixes = []string{
	"reserved", "io.kubernetes", "io.cilium", "k8s.", "k8s-", "kubernetes.io", "k8s.io", "cilium.io",
	"io.x-k8s", "pod-template-", "controller-", "annotation.", "etcd_node", EgressStampKey,
}

var (
	// keyName and value follow Kubernetes label syntax, which policy selectors are validated against:
	// a label outside it could never be selected and would only split identities.
	keyName  = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$`)
	keyPfx   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	valueRe  = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	maxValue = 63
)

// Policy turns Docker container labels into Cilium identity labels.
type Policy struct {
	// Exclude drops matching keys ("prefix*" or an exact key); Include keeps a key Exclude matched.
	Exclude, Include []string
	// ImageLabels lists the keys ("prefix*", an exact key, or "*" for all) a container may take from
	// its image: dockerd copies the image's labels into the container's, so by default a label whose
	// value equals the image's is the image's, and is dropped (see Convert).
	ImageLabels []string
	// Agent is cilium-agent's own identity label filter (its --labels rules): a label it would leave
	// out of the identity is dropped here, so the plugin asks for exactly the identity the agent
	// makes. Nil keeps every label.
	Agent func(key, value string) bool
	// DefaultNamespace is the namespace of containers that compose or Nomad did not start (see
	// Namespace); empty means DefaultNamespace.
	DefaultNamespace string
	// K8sIdentity stamps the Kubernetes namespace and cluster labels on every container (see Identity).
	// Off keeps the identities of releases before it: policies whose peer selectors say the namespace
	// label DoesNotExist keep matching.
	K8sIdentity bool
}

// DefaultPolicy excludes the volatile labels of compose and image builders.
func DefaultPolicy() Policy {
	return Policy{Exclude: DefaultExclude, Include: DefaultInclude, K8sIdentity: true}
}

// Dropped is a label left out of the identity, and why.
type Dropped struct {
	Key    string
	Reason Reason
}

// Reason says why a label was dropped: Excluded, or what makes it unfit for an identity.
type Reason string

// The reasons of labels dropped on purpose; every other reason is a label Cilium or its selectors
// would reject, or a reserved key, worth a warning.
const (
	// Excluded: the policy's Exclude patterns drop the label.
	Excluded Reason = "excluded"
	// FromImage: the label is the image's (its value equals the image's label) and ImageLabels does
	// not admit it.
	FromImage Reason = "from the image"
	// AgentFiltered: cilium-agent's label filter leaves the key out of identities.
	AgentFiltered Reason = "left out of identities by cilium-agent's label filter"
)

// Convert returns the sorted Cilium labels ("container:key=value") for the container labels in, and
// the labels it dropped; a container left with none gets Unlabelled. image holds the labels of the
// container's image: a container label with the image's value is the image's, since Docker keeps no
// record of which labels the user set, and is dropped with Reason FromImage unless ImageLabels
// admits it. Labels the policy excludes are dropped with Reason Excluded, labels the agent's filter
// leaves out with AgentFiltered; labels Cilium or its selectors would reject, and reserved keys, are
// dropped with what is wrong with them.
func (p Policy) Convert(in, image map[string]string) (out []string, dropped []Dropped) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := in[k]
		if k == EgressKey {
			dropped = append(dropped, Dropped{Key: k, Reason: EgressLabel})
			continue
		}
		if reason := checkLabel(k, v); reason != "" {
			dropped = append(dropped, Dropped{Key: k, Reason: Reason(reason)})
			continue
		}
		if p.fromImage(k, v, image) {
			dropped = append(dropped, Dropped{Key: k, Reason: FromImage})
			continue
		}
		if matchAny(p.Exclude, k) && !matchAny(p.Include, k) {
			dropped = append(dropped, Dropped{Key: k, Reason: Excluded})
			continue
		}
		if p.Agent != nil && !p.Agent(k, v) {
			dropped = append(dropped, Dropped{Key: k, Reason: AgentFiltered})
			continue
		}
		if len(out) == Max {
			dropped = append(dropped, Dropped{Key: k, Reason: Reason(fmt.Sprintf("more than %d labels", Max))})
			continue
		}
		out = append(out, Source+":"+k+"="+v)
	}
	if len(out) == 0 {
		out = []string{Unlabelled}
	}
	return out, dropped
}

// fromImage reports whether the container label k=v is its image's, which neither identity labels
// (Convert) nor the namespace (Namespace) take unless ImageLabels admits k: dockerd merges the
// image's labels (image) into the container's config labels and keeps no record of which the user
// set, so a value equal to the image's is the image's.
func (p Policy) fromImage(k, v string, image map[string]string) bool {
	iv, ok := image[k]
	return ok && iv == v && !matchAny(p.ImageLabels, k)
}

// checkLabel returns why a label cannot be an identity label, or "".
func checkLabel(k, v string) string {
	lk := strings.ToLower(k)
	for _, p := range reservedKeyPrefixes {
		if strings.HasPrefix(lk, p) {
			return "reserved key prefix " + p
		}
	}
	if strings.Contains(lk, ".kubernetes.io") || strings.Contains(lk, ".k8s.io") {
		return "reserved Kubernetes key"
	}
	name := k
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		prefix := k[:i]
		name = k[i+1:]
		if len(prefix) > 253 || !keyPfx.MatchString(prefix) {
			return "key prefix is not a DNS subdomain"
		}
	}
	if !keyName.MatchString(name) {
		return "key is not a valid label name (alphanumerics, '-', '_', '.', at most 63)"
	}
	if len(v) > maxValue || !valueRe.MatchString(v) {
		return "value is not a valid label value (alphanumerics, '-', '_', '.', at most 63)"
	}
	return ""
}

func matchAny(patterns []string, k string) bool {
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(k, pre) {
				return true
			}
		} else if p == k {
			return true
		}
	}
	return false
}
