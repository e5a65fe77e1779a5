package bench

import (
	"strconv"
	"strings"
)

// promSum is the sum of the samples of metric name in Prometheus text whose label set contains every one
// of labels (each spelled as in the text, e.g. `scope="total"`).
func promSum(text, name string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer name with this prefix
		}
		set, value := "", rest
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			set, value = rest[1:end], rest[end+1:]
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(","+set+",", ","+l+",")
		}
		f := strings.Fields(value)
		if !ok || len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// The metrics the bench reads.
const (
	// agentBuild is the agent's histogram of endpoint regeneration (build) time; scope="total" is a
	// whole build.
	agentBuild = "cilium_endpoint_regeneration_time_stats_seconds"
	// pluginCall is the plugin's histogram of its handlers' durations, by method.
	pluginCall = "cilium_docker_plugin_call_duration_seconds"
	// pluginDockerCall and pluginAgentCall are the plugin's histograms of its calls to Docker and to the
	// agent, by call: where a handler's time goes.
	pluginDockerCall = "cilium_docker_docker_call_duration_seconds"
	pluginAgentCall  = "cilium_docker_agent_call_duration_seconds"
)

// callSums are the seconds so far of each call (its `call` label) of histogram metric.
func callSums(text, metric string) map[string]float64 {
	out := map[string]float64{}
	prefix := metric + `_sum{call="`
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		call, value, ok := strings.Cut(rest, `"}`)
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[call] += v
		}
	}
	return out
}

// minus is after - before, call by call.
func minus(after, before map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(after))
	for k, v := range after {
		out[k] = v - before[k]
	}
	return out
}

// attachMethods are the handlers dockerd waits on to attach a container: on Docker 29 Join hands the
// agent's endpoint build over to ProgramExternalConnectivity, which waits for it (driver/handover.go).
var attachMethods = []string{`method="IpamDriver.RequestAddress"`, `method="NetworkDriver.CreateEndpoint"`,
	`method="NetworkDriver.Join"`, `method="NetworkDriver.ProgramExternalConnectivity"`}

// attachSum is the plugin's seconds so far in the attach handlers.
func attachSum(text string) float64 {
	var s float64
	for _, m := range attachMethods {
		s += promSum(text, pluginCall+"_sum", m)
	}
	return s
}

// handlerSums are the plugin's seconds so far in each attach handler, in attachMethods' order.
func handlerSums(text string) []float64 {
	out := make([]float64, len(attachMethods))
	for i, m := range attachMethods {
		out[i] = promSum(text, pluginCall+"_sum", m)
	}
	return out
}

// buildSum and buildCount are the agent's whole endpoint builds so far: seconds and how many.
func buildSum(text string) float64   { return promSum(text, agentBuild+"_sum", `scope="total"`) }
func buildCount(text string) float64 { return promSum(text, agentBuild+"_count", `scope="total"`) }
