// Package status is the doctor behind `cilium-docker status`: it checks one node's plugin socket,
// cilium-agent, Hubble, Docker engine, cilium networks and the containers on them, compares what Docker
// and the agent say, reads the plugin's own state from its /metrics, and reports each finding with a
// one-line hint. It reads through the agent, dockerapi and hubble clients and never changes anything;
// every read runs under one deadline, so a hung agent or Docker makes a check fail, never the command hang.
package status
