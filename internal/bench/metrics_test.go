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
