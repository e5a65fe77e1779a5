# shellcheck shell=bash
# Test bed, plugin: the cilium-docker binary under test ($PLUGIN_BIN) as a node process (PLUGIN_MODE=process),
# or as the cilium-docker service of compose/nodeN.yml on the node's own dockerd (PLUGIN_MODE=container).

plugin_ok() {
  [ -S "$NODE_DIR/plugins/cilium.sock" ] &&
    curl -sf --max-time 2 -X POST --unix-socket "$NODE_DIR/plugins/cilium.sock" \
      http://localhost/Plugin.Activate | grep -q NetworkDriver
}

start_plugin() {
  local argv=() extra=()
  read -ra extra <<<"$PLUGIN_ARGS"
  argv=("$PLUGIN_BIN" --docker-plugins /run/docker/plugins --cilium-api unix:///var/run/cilium/cilium.sock
        --docker-host-path "unix://$NODE_DIR/docker.sock" -D)
  # /metrics and /healthz on the node's own loopback (reached with `exec NODE curl`); empty for a
  # plugin binary without the flag (the upstream plugin of the benchmarks).
  [ -z "$PLUGIN_METRICS_ADDRESS" ] || argv+=(--metrics-address "$PLUGIN_METRICS_ADDRESS")
  # The reconciler at its shortest interval: more passes over every test's state (any false deletion
  # shows), and what it removes goes within a test's patience. Empty for a plugin without the flag.
  [ -z "$PLUGIN_RECONCILE_INTERVAL" ] || argv+=(--reconcile-interval "$PLUGIN_RECONCILE_INTERVAL")
  # The policy sync: the agent's static policy directory kept equal to the policies in the bed's etcd.
  [ -z "$PLUGIN_POLICY_SYNC" ] ||
    argv+=(--policy-dir "$NODE_DIR/policies" --etcd-endpoints "$ETCD_URL" --node-name "$NODE_NS")
  # Cilium's identity GC in the sync (one node elected): short, so that a test sees its removals.
  [ -z "$PLUGIN_POLICY_SYNC" ] || [ -z "$PLUGIN_IDENTITY_GC_INTERVAL" ] ||
    argv+=(--identity-gc-interval "$PLUGIN_IDENTITY_GC_INTERVAL")
  argv+=("${extra[@]}")
  launch_recorded plugin "${argv[@]}"
}

restart_plugin() {
  [ -f "$NODE_DIR/plugin.argv" ] || die "node $NODE has no recorded plugin command"
  stop_recorded plugin
  start_again plugin
}
