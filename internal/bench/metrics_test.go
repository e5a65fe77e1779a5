package bench

import "testing"

const promText = `# HELP x
cilium_endpoint_regeneration_time_stats_seconds_sum{scope="total",status="success"} 1.5
cilium_endpoint_regeneration_time_stats_seconds_sum{scope="total",status="failure"} 0.25
cilium_endpoint_regeneration_time_stats_seconds_sum{scope="bpfCompilation",status="success"} 9
cilium_endpoint_regeneration_time_stats_seconds_count{scope="total",status="success"} 3
cilium_docker_plugin_call_duration_seconds_sum{method="NetworkDriver.Join"} 0.5
cilium_docker_plugin_call_duration_seconds_sum{method="NetworkDriver.Leave"} 7
cilium_docker_plugin_call_duration_seconds_sum{method="NetworkDriver.ProgramExternalConnectivity"} 0.25
cilium_docker_plugin_call_duration_seconds_sum{method="IpamDriver.RequestAddress"} 0.125
cilium_docker_plugin_call_duration_seconds_sum_extra 100
`

func TestPromSum(t *testing.T) {
	if got := buildSum(promText); got != 1.75 {
		t.Errorf("buildSum = %v, want 1.75", got)
	}
	if got := buildCount(promText); got != 3 {
		t.Errorf("buildCount = %v, want 3", got)
	}
	if got := attachSum(promText); got != 0.875 {
		t.Errorf("attachSum = %v, want 0.875", got)
	}
	if got := promSum(promText, "nothing"); got != 0 {
		t.Errorf("absent metric = %v, want 0", got)
	}
}

// TestCalls: the plugin's call histograms by call, their growth over a run, and the p50 of each call
// over samples, the longest first, under 1 ms left out.
func TestCalls(t *testing.T) {
	before := `cilium_docker_docker_call_duration_seconds_sum{call="joining container"} 1
cilium_docker_docker_call_duration_seconds_sum{call="inspect network"} 0.5
cilium_docker_docker_call_duration_seconds_count{call="joining container"} 4
cilium_docker_agent_call_duration_seconds_sum{call="create endpoint"} 2
`
	after := `cilium_docker_docker_call_duration_seconds_sum{call="joining container"} 1.25
cilium_docker_docker_call_duration_seconds_sum{call="inspect network"} 0.5
cilium_docker_docker_call_duration_seconds_sum{call="list running"} 0.0005
cilium_docker_agent_call_duration_seconds_sum{call="create endpoint"} 2.5
`
	d := minus(callSums(after, pluginDockerCall), callSums(before, pluginDockerCall))
	if d["joining container"] != 0.25 || d["inspect network"] != 0 || d["list running"] != 0.0005 || len(d) != 3 {
		t.Fatalf("docker calls grew by %v", d)
	}
	ss := []sample{
		{dockerCalls: d, agentCalls: map[string]float64{"create endpoint": 0.5}},
		{dockerCalls: map[string]float64{"joining container": 0.03, "inspect network": 0.002}},
		{dockerCalls: map[string]float64{"joining container": 0.02, "inspect network": 0.004}},
	}
	if got, want := calls(ss, dockerOf), "joining container 30 ms, inspect network 2 ms"; got != want {
		t.Errorf("calls = %q, want %q", got, want)
	}
	if got := calls(ss, agentOf); got != "none of 1 ms" {
		t.Errorf("agent calls = %q, want none (p50 of 0.5, 0, 0 is 0)", got)
	}
}
