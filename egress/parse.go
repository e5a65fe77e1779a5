package egress

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Key is the container label that holds the allow-list. Only a label given with `docker run -l` or
// compose's labels counts, never the image's (labels.Policy.Egress).
const Key = "io.cilium.egress"

// MaxEntries caps the entries of one label: each becomes a rule the agent's DNS proxy matches every
// query against.
const MaxEntries = 64

// Protocols a port may name (Cilium's L4 protocols); ANY, the default, is TCP, UDP and SCTP.
var protocols = []string{"TCP", "UDP", "SCTP", "ANY"}

// Entry is one allowed destination: a DNS name (exact, or a pattern with a leading "*." or "**."),
// and a port and protocol, or none (Port 0: every port and protocol).
type Entry struct {
	Name    string // lowercase, without a trailing dot
	Pattern bool   // Name starts with "*." or "**."
	Port    uint16
	Proto   string // TCP, UDP, SCTP or ANY; "" when Port is 0
}

var (
	// dnsLabel is one label of a name: letters, digits, '-' and '_' (which Cilium's DNS matching
	// allows), not starting or ending with '-'.
	dnsLabel = regexp.MustCompile(`^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?$`)
)

// Parse reads the label's value: entries separated by commas, each NAME[:PORT[/PROTOCOL]], where NAME
// is a DNS name (pypi.org) or a pattern whose first label is "*" (one label: *.pythonhosted.org
// matches files.pythonhosted.org, not pythonhosted.org or a.b.pythonhosted.org) or "**" (one or more
// labels), PORT 1 to 65535, PROTOCOL tcp, udp, sctp or any (the default). Spaces around entries are
// ignored; names are case-insensitive. An error names the entry and what is wrong with it.
func Parse(v string) ([]Entry, error) {
	if strings.TrimSpace(v) == "" {
		return nil, errors.New("empty: list at least one name (NAME[:PORT[/PROTOCOL]], comma-separated)")
	}
	parts := strings.Split(v, ",")
	if len(parts) > MaxEntries {
		return nil, fmt.Errorf("%d entries: at most %d", len(parts), MaxEntries)
	}
	out := make([]Entry, 0, len(parts))
	seen := map[Entry]bool{}
	for _, p := range parts {
		e, err := parseEntry(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", strings.TrimSpace(p), err)
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

func parseEntry(s string) (Entry, error) {
	if s == "" {
		return Entry{}, errors.New("empty entry (two commas, or a comma at an end)")
	}
	name, port, hasPort := strings.Cut(s, ":")
	e := Entry{}
	if hasPort {
		portS, proto, hasProto := strings.Cut(port, "/")
		n, err := strconv.ParseUint(portS, 10, 16)
		if err != nil || n == 0 || portS[0] == '+' || (len(portS) > 1 && portS[0] == '0') {
			return Entry{}, fmt.Errorf("port %q: want a number from 1 to 65535", portS)
		}
		e.Port, e.Proto = uint16(n), "ANY"
		if hasProto {
			e.Proto = strings.ToUpper(proto)
			if !validProto(e.Proto) {
				return Entry{}, fmt.Errorf("protocol %q: want tcp, udp, sctp or any", proto)
			}
		}
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if err := checkName(name); err != nil {
		return Entry{}, err
	}
	e.Name, e.Pattern = name, strings.HasPrefix(name, "*")
	return e, nil
}

func validProto(p string) bool {
	for _, q := range protocols {
		if p == q {
			return true
		}
	}
	return false
}

// checkName accepts a DNS name of at least two labels, or one whose first label is "*" or "**"
// followed by at least two labels: a pattern that matches a whole top-level domain ("*.com"), or
// everything ("*"), is refused, as is a '*' anywhere else.
func checkName(name string) error {
	if name == "" {
		return errors.New("no name before the port")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	rest := labels
	if labels[0] == "*" || labels[0] == "**" {
		rest = labels[1:]
	}
	if len(rest) < 2 {
		return fmt.Errorf("name %q: want a domain of at least two labels (example.org, *.example.org)", name)
	}
	if strings.Trim(rest[len(rest)-1], "0123456789") == "" {
		return fmt.Errorf("name %q: an address, not a name: the list takes DNS names only (an address is reached only as a listed name resolves to it)", name)
	}
	for _, l := range rest {
		switch {
		case strings.Contains(l, "*"):
			return fmt.Errorf("name %q: '*' only as the whole first label (*.example.org, or **.example.org for any depth)", name)
		case l == "":
			return fmt.Errorf("name %q: empty label (two dots)", name)
		case !dnsLabel.MatchString(l):
			return fmt.Errorf("name %q: label %q: want letters, digits, '-' and '_', at most 63, not starting or ending with '-'", name, l)
		}
	}
	return nil
}
