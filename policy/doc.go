// Package policy checks Cilium network policies the way the agent's static policy directory watcher
// reads them (pkg/policy/directory of the Cilium release in go.mod): one YAML document per file, decoded
// as a CiliumNetworkPolicy with sigs.k8s.io/yaml and encoding/json, then Cilium's own Parse (Sanitize and
// the selector rewriting of pkg/k8s/apis/cilium.io/utils). It adds the agent's silent traps as refusals
// (a second document, a kind that is not a CNP or CCNP, a name that is not DNS-1123, a field that one of
// the supported agents, 1.19 and 1.20, drops or reads differently: agents.go), converts the classic
// JSON rule array of `cilium policy import` into CCNP documents, and flags peer selectors written for
// containers without the Kubernetes identity labels (DoesNotExist on the namespace or cluster key).
//
// It owns no I/O beyond the bytes it is handed, and it is the one package that links Cilium's policy
// types (Kubernetes apimachinery included): the plugin's other packages stay clear of them. Its
// subpackages keep the policies in etcd (store) and in the agent's policy directory (dirsync); neither
// links the parser (dirsync is handed a Checker).
package policy
