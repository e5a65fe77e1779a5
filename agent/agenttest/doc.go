// Package agenttest is a fake cilium-agent for tests: it serves the agent's REST API (the part this
// plugin uses, answering as a v1.19 agent does) on a unix socket, records every request and can be
// told to be slow, fail, hang, drop connections, stop and come back. It is a package of its own
// because the ipam, driver and cmd tests all use it.
package agenttest
