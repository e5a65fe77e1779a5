# shellcheck shell=bash
# Test bed, node namespaces: a node is netns $NODE_NS plus a private mount namespace kept alive by a
# holder process; inside it, per-node copies of the directories dockerd and the agent hard-code. This
# file also holds the node's whole life: up (in order etcd, agent, plugin, dockerd) and down (reverse).

in_node() { # CMD...: run inside the node's mount + net namespaces
  local h
  h=$(holder_pid) || die "node $NODE is not up (no mount namespace holder)"
  nsenter --mount="/proc/$h/ns/mnt" --net="/run/netns/$NODE_NS" -- "$@"
}

node_prepare_dir() {
  if grep -q " ${NODE_DIR}[/ ]" /proc/self/mountinfo; then die "host mounts under $NODE_DIR remain"; fi
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"/{plugins,cilium-run,cgsave,cgroup2,policies,lib,bin}
}

node_mount_ns() { # long-lived holder of the node's private mount namespace, then the node's mounts
  start_holder
  in_node "$SELF" _mounts "$NODE_DIR" "$PLUGIN_MODE"
  if [ "$AGENT_IPV6" = 1 ]; then
    # An IPv6 nameserver, as on a dual-stack host: Docker reserves it against unrequested IPv6 pools.
    { grep -v '^nameserver' /etc/resolv.conf || true; grep '^nameserver' /etc/resolv.conf || true
      echo "nameserver $PEER_IP6"; } >"$NODE_DIR/resolv.conf"
    in_node mount --bind "$NODE_DIR/resolv.conf" /etc/resolv.conf
  fi
  log "mount namespace ready"
}

# Runs inside the node's fresh private mount namespace and netns.
cmd__mounts() {
  local nd=$1 mode=${2:-process}
  # Copies of /run/netns/* would keep other test netns alive after `ip netns del`: drop them here.
  if mountpoint -q /run/netns; then umount -l /run/netns; fi
  if [ "$mode" = stack ]; then
    # The compose stack mounts /var/run/docker.sock (the plugin) and /run/xtables.lock (the agent): the
    # node gets a /run of its own, so dockerd serves the first there and the host's /run is not touched.
    mount -t tmpfs -o mode=0755 cdtb-run /run
    mkdir -p /run/docker /run/containerd /run/cilium
    touch /run/xtables.lock
  fi
  # sysfs must be remounted for this netns; keep the cgroup tree across it.
  mount --rbind /sys/fs/cgroup "$nd/cgsave"
  mount -t sysfs sysfs /sys
  mount --rbind "$nd/cgsave" /sys/fs/cgroup
  umount -l "$nd/cgsave"
  mount -t bpf bpffs /sys/fs/bpf
  mount -t tmpfs -o mode=0755 cdtb-docker /run/docker
  mkdir -p /run/docker/plugins
  mount --bind "$nd/plugins" /run/docker/plugins
  mount -t tmpfs -o mode=0711 cdtb-containerd /run/containerd
  mount --bind "$nd/cilium-run" /run/cilium
  mount -t tmpfs -o mode=0755 cdtb-etc-docker /etc/docker
  # Global kernel.* sysctls (timer_migration, unprivileged_bpf_disabled, keys limits) stay untouched:
  # the agent ignores the write error, dockerd only warns.
  mount --bind /proc/sys/kernel /proc/sys/kernel
  mount -o remount,bind,ro /proc/sys/kernel
}

write_node_bin() { # `docker` and `cilium` for `exec`
  ln -sf "$(docker_cli)" "$NODE_DIR/bin/docker"
  write_cilium_cli
}

write_env() {
  local ip6="" range6=""
  if [ "$AGENT_IPV6" = 1 ]; then ip6=$NODE_IP6 range6=$POD_RANGE6; fi
  cat >"$NODE_DIR/env" <<EOF2
NODE=$NODE
NODE_NS=$NODE_NS
NODE_NAME=$NODE_NS
NODE_DIR=$NODE_DIR
NODE_IP=$NODE_IP
POD_RANGE=$POD_RANGE
AGENT_IPV6=$AGENT_IPV6
AGENT_API_LIMITS=$AGENT_API_LIMITS
NODE_IP6=$ip6
POD_RANGE6=$range6
PEER_IP=$PEER_IP
DOCKER_HOST=unix://$NODE_DIR/docker.sock
CILIUM_SOCK=$NODE_DIR/cilium-run/cilium.sock
PLUGIN_SOCK=$NODE_DIR/plugins/cilium.sock
POLICY_DIR=$NODE_DIR/policies
ETCD_URL=$ETCD_URL
TEST_IMAGE=$TEST_IMAGE
PLUGIN_MODE=$PLUGIN_MODE
DOCKER_VERSION=$DOCKER_VERSION
DOCKER_ENGINE_VERSION=$(engine_version)
DOCKER_API_VERSION=$(engine_api_version)
DOCKERD=$DOCKERD
DOCKER_CLI=$(docker_cli)
CILIUM_VERSION=$CILIUM_VERSION
CILIUM_DIR=$CILIUM_DIR
CILIUM_DBG=$CILIUM_DIR/bin/cilium-dbg
TESTBED_ID=$TESTBED_ID
MNT_HOLDER_PID=$(holder_pid)
EOF2
}

node_is_up() { # PLUGIN_MODE=none: no plugin process to look for; stack: no agent or plugin process
  holder_pid >/dev/null && recorded_pid dockerd >/dev/null && [ -f "$NODE_DIR/env" ] &&
    { grep -qx PLUGIN_MODE=stack "$NODE_DIR/env" ||
      { recorded_pid agent >/dev/null && { grep -qx PLUGIN_MODE=none "$NODE_DIR/env" || recorded_pid plugin >/dev/null; }; }; }
}

on_up_exit() {
  local rc=$?
  [ "$rc" -ne 0 ] || return 0
  log "up $NODE failed (rc $rc)"
  cmd_logs "$NODE" 40 >&2 || true
  if [ "${TESTBED_KEEP_ON_FAIL:-0}" = 1 ]; then
    log "TESTBED_KEEP_ON_FAIL=1: node $NODE left as is; run: $SELF down $NODE"
  else
    node_down || true
  fi
  exit "$rc"
}

node_up() { # the node is down (or stale); CILIUM_DIR and the engine are resolved
  local t0
  node_down_quiet
  t0=$(now)
  log "up node $NODE ($NODE_NS, $NODE_IP, pods $POD_RANGE, dir $NODE_DIR, docker $DOCKER_VERSION, cilium $CILIUM_VERSION)"
  trap on_up_exit EXIT
  save_host_state
  node_prepare_dir
  write_node_bin
  ensure_fabric
  node_network
  node_mount_ns
  if [ "$PLUGIN_MODE" = stack ]; then
    # etcd, the agent and the plugin are containers of the node's dockerd, which the test brings up
    # with docker compose from compose/nodeN.yml: the bed gives the node its namespaces and dockerd.
    start_dockerd
    wait_healthy dockerd
    import_image
    write_env
    trap - EXIT
    log "node $NODE up for a compose stack in $(elapsed "$t0")s"
    return 0
  fi
  if [ "$NODE" = 1 ]; then
    start_etcd
    wait_healthy etcd
  else
    wait_for "etcd at $ETCD_URL from $NODE_NS" "$ETCD_TIMEOUT" "" etcd_healthy "$ETCD_URL"
  fi
  start_agent
  [ "$PLUGIN_MODE" != process ] || start_plugin
  start_dockerd
  wait_healthy dockerd
  import_image
  wait_healthy agent
  [ "$PLUGIN_MODE" = none ] || wait_healthy plugin
  write_env
  trap - EXIT
  log "node $NODE up in $(elapsed "$t0")s"
}

node_down() {
  local t0 had=0 d pid
  t0=$(now)
  { [ -d "$NODE_DIR" ] && ls "$NODE_DIR"/*.pid >/dev/null 2>&1; } && had=1
  netns_exists "$NODE_NS" && had=1
  if [ "$had" = 1 ]; then
    if [ "$NODE" = 1 ] && [ -n "$(nodes_left | grep -v '^1$' || true)" ]; then
      log "WARNING: node 1 holds etcd; other nodes lose their kvstore"
    fi
    for d in dockerd plugin agent etcd; do   # thaw a frozen daemon, or it blocks the cleanup
      if pid=$(recorded_pid "$d"); then kill -CONT "$pid" 2>/dev/null || true; fi
    done
    docker_cleanup
    stop_recorded dockerd
    stop_recorded plugin-logs
    stop_recorded plugin
    stop_recorded agent
    stop_recorded etcd
    sweep_node
    stop_recorded holder
    rm -f "$NODE_DIR/mntns" "$NODE_DIR/env"
    if netns_exists "$NODE_NS"; then ip netns del "$NODE_NS"; fi
    if grep -q " $NODE_DIR/" /proc/self/mountinfo; then
      grep " $NODE_DIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
      log "unmounted host mounts under $NODE_DIR"
    fi
    remove_node_cgroups
    if [ "${TESTBED_PURGE:-0}" = 1 ]; then rm -rf "$NODE_DIR"; fi
    log "node $NODE down in $(elapsed "$t0")s"
  fi
  if [ -z "$(nodes_left)" ]; then teardown_fabric; fi
}

node_down_quiet() { # clean what a crashed or half-built node left before `up`
  if ls "$NODE_DIR"/*.pid >/dev/null 2>&1 || netns_exists "$NODE_NS"; then
    log "cleaning stale node $NODE"
    TESTBED_PURGE=0 node_down
  fi
}
