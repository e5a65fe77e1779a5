package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	cilium_v2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	yaml2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// The kinds the agent's directory watcher reads. It never checks kind itself: an empty
// metadata.namespace makes any document clusterwide, a namespace makes it namespaced.
const (
	KindCNP  = "CiliumNetworkPolicy"
	KindCCNP = "CiliumClusterwideNetworkPolicy"
)

// DefaultCluster is the cluster name Parse rewrites selectors for when the agent's is not known.
const DefaultCluster = "default"

// Document is one checked policy, ready for the agent's directory.
type Document struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"` // empty: clusterwide
	// YAML is the document as the agent will read it: the user's own text for a YAML file, the
	// converted CCNP for a classic rule.
	YAML string `json:"yaml"`
	// Legacy lists the peer selectors that require the namespace or cluster label not to exist: under
	// the plugin's Kubernetes identity labels they match no container (see Legacy).
	Legacy []string `json:"legacy,omitempty"`
	// Rewrite is YAML without those requirements, when Legacy is not empty.
	Rewrite string `json:"rewrite,omitempty"`
	// Warnings are what Cilium's parser logged (an illegal namespace match it removed, for example).
	Warnings []string `json:"warnings,omitempty"`
}

// Key names the document in its scope: "<name>" for a CCNP, "<namespace>/<name>" for a CNP.
func (d *Document) Key() string {
	if d.Namespace == "" {
		return d.Name
	}
	return d.Namespace + "/" + d.Name
}

// Error is a refusal: what is wrong with the input, in the words the agent would use where it has them.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Check reads the contents of one policy file: a single CNP or CCNP YAML (or JSON) document, or a
// classic JSON array of rules, which becomes one CCNP per rule. name is the file's base name, used to
// name converted rules that carry no name label. cluster is the agent's cluster name (DefaultCluster
// when empty). Every document is parsed as the agent parses it; any refusal is an *Error.
func Check(name string, data []byte, cluster string) ([]Document, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, refuse("empty file: no policy document")
	}
	if trimmed[0] == '[' {
		return convertRules(name, trimmed, cluster)
	}
	d, err := CheckDocument(string(data), cluster)
	if err != nil {
		return nil, err
	}
	return []Document{*d}, nil
}

// CheckDocument checks one YAML document exactly as the agent's directory watcher decodes and parses it,
// plus the refusals of the traps it falls into silently.
func CheckDocument(text string, cluster string) (*Document, error) {
	if cluster == "" {
		cluster = DefaultCluster
	}
	if err := oneDocument([]byte(text)); err != nil {
		return nil, err
	}
	cnp, err := decode([]byte(text))
	if err != nil {
		// At runtime and at start the agent exits on this (logging.Fatal): never write it.
		return nil, refuse("decode as the agent does: %v", err)
	}
	kind := cnp.Kind
	if kind != KindCNP && kind != KindCCNP {
		return nil, refuse("kind %q: want %s or %s", kind, KindCNP, KindCCNP)
	}
	if v := cnp.APIVersion; v != "cilium.io/v2" {
		return nil, refuse("apiVersion %q: want cilium.io/v2", v)
	}
	if kind == KindCCNP && cnp.Namespace != "" {
		return nil, refuse("%s %q has metadata.namespace %q: the agent would make it a namespaced policy", kind, cnp.Name, cnp.Namespace)
	}
	if kind == KindCNP && cnp.Namespace == "" {
		return nil, refuse("%s %q has no metadata.namespace: the agent would make it clusterwide; set the namespace "+
			"(the compose project, the Nomad namespace, or docker) or use %s", kind, cnp.Name, KindCCNP)
	}
	if reasons := validation.IsDNS1123Subdomain(cnp.Name); cnp.Name != "" && len(reasons) > 0 {
		return nil, refuse("metadata.name %q: %s", cnp.Name, strings.Join(reasons, "; "))
	}
	if ns := cnp.Namespace; ns != "" {
		if reasons := validation.IsDNS1123Label(ns); len(reasons) > 0 {
			return nil, refuse("metadata.namespace %q: %s", ns, strings.Join(reasons, "; "))
		}
	}
	if err := agentTraps(cnp); err != nil {
		return nil, refuse("%s %q: %v", kind, cnp.Name, err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := cnp.Parse(log, cluster); err != nil {
		return nil, refuse("%s %q: %v", kind, cnp.Name, err)
	}
	d := &Document{Kind: kind, Name: cnp.Name, Namespace: cnp.Namespace, YAML: text}
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		if l != "" {
			d.Warnings = append(d.Warnings, l)
		}
	}
	if d.Legacy, d.Rewrite, err = legacySelectors([]byte(text)); err != nil {
		return nil, refuse("%s %q: %v", kind, cnp.Name, err)
	}
	return d, nil
}

// decode is the directory watcher's translateToCNPObject: YAML to JSON, then JSON into the CNP type.
func decode(data []byte) (*cilium_v2.CiliumNetworkPolicy, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	cnp := &cilium_v2.CiliumNetworkPolicy{}
	if err := json.Unmarshal(j, cnp); err != nil {
		return nil, err
	}
	return cnp, nil
}

// oneDocument refuses a YAML stream that is not one document, counted by the agent's own YAML parser
// (go.yaml.in/yaml/v2, under sigs.k8s.io/yaml) in a decoder loop: the agent reads only the first
// document of a file and ignores the rest silently, whatever ends the marker ("---", "--- ", "---<TAB>",
// a comment or a flow document on the marker line, "..."). Empty documents (only comments, a bare
// separator) do not count, except a first one: the agent would read it and nothing else.
func oneDocument(data []byte) error {
	dec := yaml2.NewDecoder(bytes.NewReader(data))
	n, docs := 0, 0
	firstEmpty := false
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		n++
		if err != nil {
			return refuse("YAML document %d: %v", n, err)
		}
		if v == nil {
			firstEmpty = firstEmpty || n == 1
			continue
		}
		docs++
	}
	switch {
	case docs == 0:
		return refuse("no policy document (only comments or separators)")
	case docs > 1:
		return refuse("%d YAML documents: the agent reads only the first of a file and ignores the rest silently; "+
			"put one policy in each file", docs)
	case firstEmpty:
		return refuse("YAML document 1 is empty, and the agent reads only the first document of a file: remove the " +
			"separator before the policy")
	}
	return nil
}

// ReadAll reads r for Check, at most limit bytes.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, refuse("larger than %d bytes", limit)
	}
	return b, nil
}

// IsRefusal reports whether err is a refusal of the input (as opposed to an I/O error).
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// CheckStored checks a document stored under key (in etcd) as the agent would parse it, and that it is
// the policy its key names: what the policy sync asks before it writes the document into the agent's
// directory.
func CheckStored(key, text, cluster string) error {
	d, err := CheckDocument(text, cluster)
	if err != nil {
		return err
	}
	if d.Key() != key {
		return refuse("the document is policy %q, stored under %q", d.Key(), key)
	}
	return nil
}
