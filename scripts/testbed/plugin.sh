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
  argv+=("${extra[@]}")
  launch_recorded plugin "${argv[@]}"
}

restart_plugin() {
  if [ -f "$NODE_DIR/plugin.container" ]; then restart_plugin_container; return; fi
  [ -f "$NODE_DIR/plugin.argv" ] || die "node $NODE has no recorded plugin command"
  stop_recorded plugin
  start_again plugin
}

# ---- PLUGIN_MODE=container: the plugin is compose/nodeN.yml's cilium-docker service on the node's dockerd,
# built from PLUGIN_BIN; its main process is recorded as the plugin, its log followed into plugin.log.

plugin_compose() { # VERSION ARGS...: docker-compose on the node's dockerd: the node's compose file + COMPOSE_OVERRIDE
  local file=node1.yml api=()
  [ "$NODE" = 1 ] || file=node2.yml
  [ -z "$COMPOSE_API" ] || api=("COMPOSE_API_VERSION=$COMPOSE_API")
  env DOCKER_HOST="unix://$NODE_DIR/docker.sock" NODE_DIR="$NODE_DIR" NODE_NAME="$NODE_NS" NODE_IP="$NODE_IP" \
    NODE_DEVICE=eth0 POD_RANGE="$POD_RANGE" ETCD_ADDRESS="$ETCD_URL" CILIUM_DOCKER_VERSION="$1" "${api[@]}" \
    docker-compose -p cdtb --env-file "$REPO_DIR/compose/.env.example" \
    -f "$REPO_DIR/compose/$file" -f "$COMPOSE_OVERRIDE" "${@:2}"
}

start_plugin_container() {
  local image t0
  t0=$(now)
  image=$(DOCKER="$(docker_cli)" DOCKER_HOST="unix://$NODE_DIR/docker.sock" PLUGIN_BIN="$PLUGIN_BIN" \
          "$SCRIPT_DIR/image.sh" 9>&- | tail -n1) || die "scripts/image.sh failed"
  log "built $image on dockerd[n$NODE] in $(elapsed "$t0")s"
  plugin_compose "${image#*:}" up -d --no-deps "$PLUGIN_CONTAINER" >>"$NODE_DIR/plugin.log" 2>&1 9>&- ||
    die "docker-compose up $PLUGIN_CONTAINER failed (see $NODE_DIR/plugin.log)"
  echo "$image" >"$NODE_DIR/plugin.container"
  record_plugin_container 0
}

record_plugin_container() { # SINCE: record the container's process as the plugin, follow its log from SINCE
  local dk pid
  dk=$(docker_cli)
  pid=$("$dk" -H "unix://$NODE_DIR/docker.sock" inspect -f '{{.State.Pid}}' "$PLUGIN_CONTAINER") || pid=0
  [ "$pid" != 0 ] || die "container ${PLUGIN_CONTAINER} of node $NODE is not running"
  record_pid plugin "$pid"
  log "plugin[n$NODE] is container $PLUGIN_CONTAINER ($(cat "$NODE_DIR/plugin.container")), pid $pid"
  stop_recorded plugin-logs
  # shellcheck disable=SC2016  # expanded by sh -c
  launch plugin-logs sh -c 'exec "$0" -H "$1" logs -f --since "$2" "$3" >>"$4" 2>&1' \
    "$dk" "unix://$NODE_DIR/docker.sock" "$1" "$PLUGIN_CONTAINER" "$NODE_DIR/plugin.log"
}

restart_plugin_container() {
  local since
  since=$(date +%s)
  echo "==== testbed: plugin container restarted at $(date -Is) ====" >>"$NODE_DIR/plugin.log"
  "$(docker_cli)" -H "unix://$NODE_DIR/docker.sock" restart -t "$STOP_TIMEOUT" "$PLUGIN_CONTAINER" >/dev/null
  record_plugin_container "$since"
  wait_healthy plugin
}
