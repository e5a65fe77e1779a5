package egress

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// NamePrefix starts the name of every generated policy: `policy list` shows them among the others,
// and nothing else should take it.
const NamePrefix = "cilium-docker-egress-"

// Name is the generated policy of the containers of identity (their identity labels, in any order)
// on node: one per identity and node, so that each node's plugin removes its own when its last such
// container goes, while replicas elsewhere keep theirs (identical rules, which the agent unions). It
// starts with NodePrefix(node): a plugin tells its node's policies from other nodes' by name.
func Name(node string, identity []string) string {
	h := sha256.New()
	h.Write([]byte(node))
	for _, l := range slices.Sorted(slices.Values(identity)) {
		h.Write([]byte{0})
		h.Write([]byte(l))
	}
	return NodePrefix(node) + hex.EncodeToString(h.Sum(nil))[:20]
}

// NodePrefix starts the name of every policy Name makes for node: NamePrefix, a digest of the node's
// name (any string a node may be called by, kept to the characters a policy name takes), and "-".
func NodePrefix(node string) string {
	sum := sha256.Sum256([]byte("node\x00" + node))
	return NamePrefix + hex.EncodeToString(sum[:])[:8] + "-"
}

// Document is the CiliumClusterwideNetworkPolicy name that holds the endpoints of identity (every one
// of its labels, "source:key=value") to entries: DNS to any server on port 53, through the agent's DNS
// proxy, for the listed names only (the proxy refuses other queries), and to the addresses those names
// resolved to, on each entry's port (all ports for an entry without one). Everything else the
// endpoint sends is dropped: a policy that selects an endpoint for egress makes its egress
// deny-by-default. description says whose it is.
func Document(name, description string, identity []string, entries []Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: %s\n", name)
	fmt.Fprintf(&b, "spec:\n  description: %s\n  endpointSelector:\n    matchLabels:\n", quote(description))
	for _, l := range identity {
		k, v, _ := strings.Cut(l, "=")
		fmt.Fprintf(&b, "      %s: %s\n", quote(k), quote(v))
	}
	b.WriteString("  egress:\n  - toEntities: [all]\n    toPorts:\n    - ports: [{port: \"53\", protocol: ANY}]\n      rules:\n        dns:\n")
	for _, m := range unique(entries) {
		fmt.Fprintf(&b, "        - %s\n", selector(m))
	}
	for _, g := range byPort(entries) {
		b.WriteString("  - toFQDNs:\n")
		for _, e := range g.entries {
			fmt.Fprintf(&b, "    - %s\n", selector(e))
		}
		if g.port != 0 {
			fmt.Fprintf(&b, "    toPorts:\n    - ports: [{port: \"%d\", protocol: %s}]\n", g.port, g.proto)
		}
	}
	return b.String()
}

// selector is an entry's FQDN selector: matchName or matchPattern.
func selector(e Entry) string {
	if e.Pattern {
		return "{matchPattern: " + quote(e.Name) + "}"
	}
	return "{matchName: " + quote(e.Name) + "}"
}

// quote is s as a double-quoted YAML scalar (a JSON string is one).
func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// unique is one entry per name, in the order given.
func unique(entries []Entry) []Entry {
	var out []Entry
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, Entry{Name: e.Name, Pattern: e.Pattern})
		}
	}
	return out
}

type portGroup struct {
	port    uint16
	proto   string
	entries []Entry
}

// byPort groups the entries by port and protocol: one egress rule each, ordered by port (no port first).
func byPort(entries []Entry) []portGroup {
	idx := map[[2]string]int{}
	var out []portGroup
	for _, e := range entries {
		k := [2]string{fmt.Sprint(e.Port), e.Proto}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, portGroup{port: e.Port, proto: e.Proto})
		}
		out[i].entries = append(out[i].entries, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].port != out[j].port {
			return out[i].port < out[j].port
		}
		return out[i].proto < out[j].proto
	})
	return out
}
