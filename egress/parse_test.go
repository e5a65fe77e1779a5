package egress

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	got, err := Parse(" pypi.org, *.pythonhosted.org:443 ,API.github.com:443/tcp,dns.example:53/udp,**.corp.example:8080/any,pypi.org")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "pypi.org"},
		{Name: "*.pythonhosted.org", Pattern: true, Port: 443, Proto: "ANY"},
		{Name: "api.github.com", Port: 443, Proto: "TCP"},
		{Name: "dns.example", Port: 53, Proto: "UDP"},
		{Name: "**.corp.example", Pattern: true, Port: 8080, Proto: "ANY"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "empty",
		"a.org,,b.org":                    "empty entry",
		"a.org:0":                         `port "0"`,
		"a.org:65536":                     `port "65536"`,
		"a.org:+80":                       `port "+80"`,
		"a.org:080":                       `port "080"`,
		"a.org:http":                      `port "http"`,
		"a.org:443/icmp":                  `protocol "icmp"`,
		"a.org:443/tcp/x":                 `protocol "tcp/x"`,
		":443":                            "no name",
		"*":                               "at least two labels",
		"*.com":                           "at least two labels",
		"localhost":                       "at least two labels",
		"a.*.org":                         "'*' only as the whole first label",
		"*a.org":                          "'*' only as the whole first label",
		"a..org":                          "empty label",
		"-a.org":                          `label "-a"`,
		"a b.org":                         `label "a b"`,
		"10.0.0.1":                        "an address, not a name",
		"[::1]:443":                       "port",
		strings.Repeat("a.", 130) + "org": "longer than 253",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): got %v, want an error containing %q", in, err, want)
		}
	}
	if _, err := Parse(strings.Repeat("a.org,", MaxEntries) + "b.org"); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Parse of %d entries: %v", MaxEntries+1, err)
	}
}

// FuzzParse: whatever Parse accepts is names Cilium's matchName/matchPattern take (letters, digits,
// '-', '_', '.', a leading '*' label), ports in range and known protocols, and no entry twice.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"pypi.org,*.pythonhosted.org:443,api.github.com:443", "a.b:1/udp", "**.x.y:65535/sctp", "*", "a..b:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Parse(s)
		if err != nil {
			return
		}
		seen := map[Entry]bool{}
		for _, e := range es {
			if seen[e] {
				t.Fatalf("%q: entry %+v twice", s, e)
			}
			seen[e] = true
			name := strings.TrimPrefix(strings.TrimPrefix(e.Name, "**."), "*.")
			if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" || strings.Count(name, ".") < 1 {
				t.Fatalf("%q: name %q", s, e.Name)
			}
			if e.Pattern != strings.HasPrefix(e.Name, "*") {
				t.Fatalf("%q: %+v", s, e)
			}
			if (e.Port == 0) != (e.Proto == "") || (e.Port != 0 && !validProto(e.Proto)) {
				t.Fatalf("%q: port %d proto %q", s, e.Port, e.Proto)
			}
		}
		doc := Document(Name("n", []string{"container:a=b"}), "d", []string{"container:a=b"}, es)
		if !strings.Contains(doc, "kind: CiliumClusterwideNetworkPolicy") {
			t.Fatal(doc)
		}
	})
}
