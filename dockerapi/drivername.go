package dockerapi

import "strings"

// SameDriver reports whether Docker resolves the driver names a and b to the same plugin. A legacy
// plugin is named by its socket's file name (`cilium`); a managed plugin by its reference, which Docker
// completes as an image reference (`cilium-docker` is `cilium-docker:latest`, `docker.io/library/x` is
// `x`). A network records the name as the user typed it, so a network of the managed plugin
// `cilium-docker:latest` may say `cilium-docker`.
func SameDriver(a, b string) bool {
	return a == b || (a != "" && b != "" && normalDriver(a) == normalDriver(b))
}

// normalDriver is name with Docker's defaults made explicit: no docker.io/library/ prefix, tag latest
// when the name carries neither a tag nor a digest.
func normalDriver(name string) string {
	name = strings.TrimPrefix(name, "docker.io/")
	name = strings.TrimPrefix(name, "library/")
	last := name[strings.LastIndex(name, "/")+1:]
	if !strings.Contains(last, ":") && !strings.Contains(last, "@") {
		name += ":latest"
	}
	return name
}
