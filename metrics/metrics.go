package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// namespace prefixes every metric of the plugin's own.
const namespace = "cilium_docker"

// Result label values.
const (
	resultOK    = "ok"
	resultError = "error"
)

// AgentRateLimited counts the cilium-agent's rate-limit answers (HTTP 429), by call; each was retried.
const AgentRateLimited = "agent_rate_limited_total"

// AgentParallelCreates is the plugin's --agent-parallel-creates, a gauge.
const AgentParallelCreates = "agent_parallel_creates"

// Metrics is the plugin's registry and its collectors. Its observer methods are safe for concurrent use.
type Metrics struct {
	reg                     *prometheus.Registry
	calls                   *prometheus.CounterVec
	callSeconds             *prometheus.HistogramVec
	agentCalls, dockerCalls *prometheus.CounterVec
	agentSecs, dockerSecs   *prometheus.HistogramVec
	agentLimited            *prometheus.CounterVec
}

// buckets span a plugin call (a few hundred microseconds) to an endpoint create that waits for its
// datapath and a queue (tens of seconds).
var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// New returns a registry with the plugin's metrics and the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "plugin_calls_total",
			Help: "Docker plugin protocol calls answered, by method and result (ok or error)."}, []string{"method", "result"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "plugin_call_duration_seconds",
			Help: "Time to answer a Docker plugin protocol call, agent and Docker calls included.", Buckets: buckets}, []string{"method"}),
		agentCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "agent_calls_total",
			Help: "cilium-agent API calls, by call and result (ok or error)."}, []string{"call", "result"}),
		agentSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "agent_call_duration_seconds",
			Help: "Time of a cilium-agent API call, retries of rate-limited answers included.", Buckets: buckets}, []string{"call"}),
		agentLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: AgentRateLimited,
			Help: "Rate-limit answers (HTTP 429) of cilium-agent, by call; the call was tried again within its deadline."}, []string{"call"}),
		dockerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "docker_calls_total",
			Help: "Docker Engine API calls, by call and result (ok or error)."}, []string{"call", "result"}),
		dockerSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "docker_call_duration_seconds",
			Help: "Time of a Docker Engine API call.", Buckets: buckets}, []string{"call"}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.calls, m.callSeconds, m.agentCalls, m.agentSecs, m.agentLimited, m.dockerCalls, m.dockerSecs)
	return m
}

// Registry is where further collectors of the plugin register.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveCall records one protocol call (a server.Observer).
func (m *Metrics) ObserveCall(method string, took time.Duration, err error) {
	m.calls.WithLabelValues(method, result(err)).Inc()
	m.callSeconds.WithLabelValues(method).Observe(took.Seconds())
}

// ObserveAgent records one cilium-agent call (an agent.Observer).
func (m *Metrics) ObserveAgent(call string, took time.Duration, err error) {
	m.agentCalls.WithLabelValues(call, result(err)).Inc()
	m.agentSecs.WithLabelValues(call).Observe(took.Seconds())
}

// ObserveAgentRateLimited records one rate-limit answer of cilium-agent to call.
func (m *Metrics) ObserveAgentRateLimited(call string) { m.agentLimited.WithLabelValues(call).Inc() }

// ObserveDocker records one Docker call (a dockerapi.Observer).
func (m *Metrics) ObserveDocker(call string, took time.Duration, err error) {
	m.dockerCalls.WithLabelValues(call, result(err)).Inc()
	m.dockerSecs.WithLabelValues(call).Observe(took.Seconds())
}

// Gauge publishes f's value, read at each scrape, as cilium_docker_<name>.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, f))
}

// Counter returns a new counter cilium_docker_<name>, registered.
func (m *Metrics) Counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	m.reg.MustRegister(c)
	return c
}

func result(err error) string {
	if err != nil {
		return resultError
	}
	return resultOK
}
