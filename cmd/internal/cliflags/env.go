package cliflags

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix + the flag name in upper snake case sets a flag from the environment (the command line wins).
const EnvPrefix = "CILIUM_DOCKER_"

// ApplyEnv sets every flag not given on the command line from its environment variable.
func ApplyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !given[f.Name] && len(f.Name) > 1 {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// SplitList splits a comma list, dropping empty items and the spaces around items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// DefaultNodeName is the hostname, the default name of this node in the policy status keys.
func DefaultNodeName() string {
	h, err := os.Hostname()
	if err != nil {
		return "node"
	}
	return h
}
