package labels

import "strings"

// DefaultNamespace is the namespace of a container that neither compose nor Nomad started.
const DefaultNamespace = "docker"

// Namespace label keys, in the order they are looked for: the compose project, then the Nomad
// namespace of a container Nomad's docker driver started.
var namespaceKeys = []string{"com.docker.compose.project", "com.hashicorp.nomad.namespace"}

// maxNamespace is the longest namespace Kubernetes allows (a DNS-1123 label), which Hubble expects.
const maxNamespace = 63

// Namespace is the namespace Cilium shows the container under (its k8s-namespace): the compose
// project, else the Nomad namespace, else the policy's default (DefaultNamespace when that is
// unset). A value that could not be a namespace is passed over.
func (p Policy) Namespace(labels map[string]string) string {
	for _, k := range namespaceKeys {
		if v := labels[k]; validNamespace(v) {
			return v
		}
	}
	if p.DefaultNamespace != "" {
		return p.DefaultNamespace
	}
	return DefaultNamespace
}

// validNamespace accepts what compose and Nomad allow as project and namespace names and a DNS-1123
// label keeps: lowercase letters, digits, '-' and '_' (compose), starting with a letter or digit.
func validNamespace(v string) bool {
	if v == "" || len(v) > maxNamespace || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return false
	}
	return v[0] != '-' && v[0] != '_'
}
