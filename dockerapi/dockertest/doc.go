// Package dockertest is a fake Docker Engine API for tests: the few calls the plugin makes (ping,
// network inspect, filtered container list, container inspect, the event stream) on a unix socket,
// answering as Docker API 1.41 does, with knobs to make routes slow or hang and to break the stream.
package dockertest
