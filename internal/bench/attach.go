package bench

import (
	"math"
	"regexp"
)

// What `bench upstream` reads of this plugin's /metrics around a `docker run`: the seconds so far in
// the attach handlers dockerd waits on (attachMethods: RequestAddress, CreateEndpoint, Join and
// ProgramExternalConnectivity, which waits for the agent's endpoint build when Join handed it over),
// and in the agent and Docker calls only those handlers make. Their growth over a run is its attach
// time; attach less the calls is the plugin's own time. A handed-over build runs partly between Join
// and ProgramExternalConnectivity, outside every handler, so that difference can fall below zero: the
// report then says it could not be measured.

// attachAgentCalls and attachDockerCalls are the agent and Docker calls of those handlers.
var (
	attachAgentCalls  = regexp.MustCompile(`^(allocate [a-z0-9]+ address|claim address|get config|list cluster nodes|create endpoint)$`)
	attachDockerCalls = regexp.MustCompile(`^(joining container|inspect network)$`)
)

// attachSums are the plugin's seconds so far in the attach handlers, their agent calls and their
// Docker calls, from its /metrics text.
type attachSums struct{ handlers, agent, docker float64 }

func readAttachSums(text string) attachSums {
	var s attachSums
	for _, m := range attachMethods {
		s.handlers += promSum(text, pluginCall+"_sum", m)
	}
	for call, v := range callSums(text, pluginAgentCall) {
		if attachAgentCalls.MatchString(call) {
			s.agent += v
		}
	}
	for call, v := range callSums(text, pluginDockerCall) {
		if attachDockerCalls.MatchString(call) {
			s.docker += v
		}
	}
	return s
}

// attach is the handlers' seconds between two readings.
func attach(before, after attachSums) float64 { return after.handlers - before.handlers }

// ownTime is the plugin's own seconds between two readings: its handlers' less their agent and Docker
// calls.
func ownTime(before, after attachSums) float64 {
	return attach(before, after) - (after.agent - before.agent) - (after.docker - before.docker)
}

// gauges are the plugin's goroutines, open descriptors and resident MiB, from its /metrics text.
type gauges struct {
	goroutines, fds int
	rssMiB          float64
}

func readGauges(text string) gauges {
	return gauges{goroutines: int(promSum(text, "go_goroutines")), fds: int(promSum(text, "process_open_fds")),
		rssMiB: math.Round(promSum(text, "process_resident_memory_bytes")/(1<<20)*10) / 10}
}
