package labels

import "strings"

// DefaultNamespace is the namespace of a container that neither compose nor Nomad started.
const DefaultNamespace = "docker"

// Namespace label keys, in the order they are looked for: the compose project, then the Nomad
// namespace of a container Nomad's docker driver started.
var namespaceKeys = []string{"com.docker.compose.project", "com.hashicorp.nomad.namespace"}

// maxNamespace is the longest namespace Kubernetes allows (a DNS-1123 label), which Hubble expects.
const maxNamespace = 63

// Namespace is the namespace Cilium shows the container under (its k8s-namespace), from its labels
// in and its image's labels image: the compose project, else the Nomad namespace, else the policy's
// default (DefaultNamespace when that is unset). A value that could not be a namespace is passed over,
// and so is a value of the image's (fromImage, the rule Convert applies to every identity label): an
// image built with LABEL com.docker.compose.project=shop neither joins namespace shop, and with it
// the namespace-wide policies there, nor carries container:com.docker.compose.project=shop. Compose
// sets the project label on each container, so a compose container keeps its project.
//
// The corner case: a compose project equal to its image's label of that key. The container's label
// and the image's are then the same string, and Docker cannot say whether compose set it or the image
// did. It counts as the image's, as in Convert: the container is in the default namespace, without
// the project's identity label. That is the safe side, since the image alone can produce exactly this
// pair, and a namespace admits a container to every policy written for it; the cost is that such a
// project's containers miss its namespace-wide policies until the image drops the label or the
// operator admits it with ImageLabels, which admits the identity label and the namespace together.
func (p Policy) Namespace(in, image map[string]string) string {
	for _, k := range namespaceKeys {
		if v := in[k]; validNamespace(v) && !p.fromImage(k, v, image) {
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
