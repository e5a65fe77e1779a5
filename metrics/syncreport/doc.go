// Package syncreport is the line between the policy sync and the plugin daemon: the sync, a child in
// cilium-docker-policy, writes one Stats as a JSON line on its standard output after every pass and every
// failure (sync --report); the daemon parses each line and publishes the last one on /metrics. Both
// sides and /metrics use the one type here, so a renamed field changes all three at once. It links the
// standard library only (.golangci.yml): the daemon must not link the policy packages (TestDaemonLinks).
package syncreport
