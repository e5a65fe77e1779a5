package bench

import (
	"math"
	"strconv"
	"testing"
)

// metricsAt is the plugin's /metrics with handler sums h (RequestAddress, CreateEndpoint, Join,
// ProgramExternalConnectivity), agent call sums a and Docker call sums d.
func metricsAt(h [4]float64, a, d map[string]float64) string {
	text := "# HELP cilium_docker_plugin_call_duration_seconds x\n" +
		"cilium_docker_plugin_call_duration_seconds_sum{method=\"IpamDriver.RequestAddress\"} " + fmtFloat(h[0]) + "\n" +
		"cilium_docker_plugin_call_duration_seconds_count{method=\"IpamDriver.RequestAddress\"} 7\n" +
		"cilium_docker_plugin_call_duration_seconds_sum{method=\"NetworkDriver.CreateEndpoint\"} " + fmtFloat(h[1]) + "\n" +
		"cilium_docker_plugin_call_duration_seconds_sum{method=\"NetworkDriver.Join\"} " + fmtFloat(h[2]) + "\n" +
		"cilium_docker_plugin_call_duration_seconds_sum{method=\"NetworkDriver.ProgramExternalConnectivity\"} " + fmtFloat(h[3]) + "\n" +
		"go_goroutines 31\nprocess_open_fds 20\nprocess_resident_memory_bytes 2.97795584e+07\n"
	for k, v := range a {
		text += "cilium_docker_agent_call_duration_seconds_sum{call=\"" + k + "\"} " + fmtFloat(v) + "\n"
	}
	for k, v := range d {
		text += "cilium_docker_docker_call_duration_seconds_sum{call=\"" + k + "\"} " + fmtFloat(v) + "\n"
	}
	return text
}

func TestAttachAndOwnTime(t *testing.T) {
	before := readAttachSums(metricsAt([4]float64{1, 2, 3, 9},
		map[string]float64{"allocate ipv4 address": 0.5, "create endpoint": 1, "endpoint list": 4, "get config": 0.1},
		map[string]float64{"joining container": 0.2, "inspect container": 3}))
	after := readAttachSums(metricsAt([4]float64{1.010, 2.020, 3.010, 9.160},
		map[string]float64{"allocate ipv4 address": 0.505, "create endpoint": 1.150, "endpoint list": 4.3, "get config": 0.101, "claim address": 0.004},
		map[string]float64{"joining container": 0.203, "inspect container": 3.2, "inspect network": 0.002}))
	// handlers: 10 + 20 + 10 + 160 ms (ProgramExternalConnectivity waits for the build Join handed over);
	// agent: 5 + 150 + 1 + 4 ms (not the endpoint list); Docker: 3 + 2 ms (not the container inspect).
	if got := attach(before, after); math.Abs(got-0.200) > 1e-9 {
		t.Errorf("attach = %v, want 0.200", got)
	}
	if got := ownTime(before, after); math.Abs(got-(0.200-0.160-0.005)) > 1e-9 {
		t.Errorf("own time = %v, want 0.035", got)
	}
	g := readGauges(metricsAt([4]float64{}, nil, nil))
	if g != (gauges{goroutines: 31, fds: 20, rssMiB: 28.4}) {
		t.Errorf("gauges = %+v", g)
	}
}

func TestEndpointsLeft(t *testing.T) {
	list := `[{"status":{"labels":{"security-relevant":["reserved:host"]}}},
	  {"status":{"labels":{"security-relevant":["container:app=x"]}}}, {"status":{}}]`
	if n, err := endpointsLeft([]byte(list)); err != nil || n != 2 {
		t.Errorf("endpointsLeft = %d, %v; want 2", n, err)
	}
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
