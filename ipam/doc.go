// Package ipam is the plugin's IpamDriver: it hands out addresses from cilium-agent's node range and
// decides, for every address, which party frees it (see book.go).
package ipam
