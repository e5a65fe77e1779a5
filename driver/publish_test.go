package driver_test

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// The portmap option as Docker 20.10 and 29 send it (moby types.PortBinding as JSON), decoded the way
// the server decodes a request body.
func TestParsePortmap(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name, json string
		want       []endpoint.Binding
		wantErr    string
	}{
		{"none", `{}`, nil, ""},
		{"empty", `{"com.docker.network.portmap":[]}`, []endpoint.Binding{}, ""},
		{"-p 8080:80 (20.10: end = start)", `{"com.docker.network.portmap":[{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080}]}`,
			[]endpoint.Binding{{Proto: endpoint.TCP, Port: 80, HostPort: 8080}}, ""},
		{"-p 8080:80 (29: end 0)", `{"com.docker.network.portmap":[{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":0}]}`,
			[]endpoint.Binding{{Proto: endpoint.TCP, Port: 80, HostPort: 8080}}, ""},
		{"-p 127.0.0.1:8080:80/udp", `{"com.docker.network.portmap":[{"Proto":17,"Port":80,"HostIP":"127.0.0.1","HostPort":8080,"HostPortEnd":8080}]}`,
			[]endpoint.Binding{{Proto: endpoint.UDP, Port: 80, HostIP: lo, HostPort: 8080}}, ""},
		{"-p 8000-8010:80", `{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostIP":"","HostPort":8000,"HostPortEnd":8010}]}`,
			[]endpoint.Binding{{Proto: endpoint.TCP, Port: 80, HostPort: 8000, HostPortEnd: 8010}}, ""},
		{"-P and -p 80", `{"com.docker.network.portmap":[{"Proto":6,"Port":80},{"Proto":17,"Port":53,"HostIP":"0.0.0.0","HostPort":0,"HostPortEnd":0}]}`,
			[]endpoint.Binding{{Proto: endpoint.TCP, Port: 80}, {Proto: endpoint.UDP, Port: 53, HostIP: netip.IPv4Unspecified()}}, ""},
		{"v4-mapped host address", `{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostIP":"::ffff:127.0.0.1","HostPort":8080}]}`,
			[]endpoint.Binding{{Proto: endpoint.TCP, Port: 80, HostIP: lo, HostPort: 8080}}, ""},
		{"sctp", `{"com.docker.network.portmap":[{"Proto":132,"Port":80,"HostPort":8080}]}`, nil, "only tcp and udp"},
		{"[::]", `{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostIP":"::","HostPort":8080}]}`, nil, "IPv6 host addresses are not supported"},
		{"ipv6", `{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostIP":"fd00::1","HostPort":8080}]}`, nil, "only IPv4 unicast"},
		{"bad address", `{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostIP":"nope","HostPort":8080}]}`, nil, `host address "nope"`},
		{"reversed range", `{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostPort":8010,"HostPortEnd":8000}]}`, nil, "ends before it starts"},
		{"no container port", `{"com.docker.network.portmap":[{"Proto":6,"Port":0,"HostPort":8080}]}`, nil, "no container port"},
		{"not a list", `{"com.docker.network.portmap":{"Proto":6}}`, nil, "com.docker.network.portmap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts map[string]any
			if err := json.Unmarshal([]byte(tt.json), &opts); err != nil {
				t.Fatal(err)
			}
			got, err := driver.ParsePortmap(opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
