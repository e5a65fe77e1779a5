// Package egress is the container label that holds a container's egress to an allow-list of DNS names
// (io.cilium.egress): its syntax (Parse) and the policy document it becomes (Document, Name). It
// imports only the standard library: the plugin daemon builds the document, and the policy binary,
// which links Cilium's parser, checks it before it is stored (see DESIGN.md, "Egress allow-lists").
package egress
