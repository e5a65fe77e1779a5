#!/usr/bin/env bash
# Test bed: real dockerd + cilium-agent (+ etcd on node 1) + the cilium-docker plugin per "node", each node
# in its own network namespace and private mount namespace, wired to a fabric bridge and an "outside" peer.
# Never touches the host network namespace. The parts are in scripts/testbed/ (node namespaces, the
# agent's cgroup wrapper) and in Go, internal/testbed (processes, fabric, host state, engine, etcd,
# agent, plugin; testbed/gobed.sh calls them through bin/testbed, built when missing or stale); this
# file is the command line.
#
# Usage: scripts/testbed.sh COMMAND [ARGS]
#   up NODE                 build node NODE (1-9; node 1 runs etcd and must be up first); prints its env
#   down NODE               tear node NODE down (idempotent); the last node down also removes the fabric
#   down-all                tear every node and the fabric down
#   status                  one line per component; rc 3 when a component of an up node is dead
#   env NODE                print the node's env file (addresses, sockets, the engine and agent versions)
#   logs NODE [LINES]       tails of the node's etcd, agent, plugin and dockerd logs (default 60 lines)
#   exec NODE CMD...        run CMD in the node's net+mount namespaces, DOCKER_HOST set, `docker` = the 20.10
#                           CLI, `cilium` = cilium-dbg talking to the node's agent; NODE=peer: the peer netns
#   stop NODE DAEMON        stop DAEMON (etcd, agent, plugin, dockerd) by PID: SIGTERM, then SIGKILL
#   start NODE DAEMON       start a stopped DAEMON again with the same arguments, wait until it is healthy
#   restart NODE DAEMON     stop, then start
#   signal NODE DAEMON SIG  send SIG by the recorded PID (STOP/CONT freeze and thaw, KILL kills)
#   pid NODE DAEMON         print the PID of the running DAEMON (rc 1 when it does not run)
#   replace-agent NODE VERSION  stop cilium-agent by PID, start cilium VERSION's agent (built when missing)
#                           with the same state dir and flags, wait for healthz Ok; the env shows VERSION
#   restart-plugin NODE, restart-agent NODE, stop-agent NODE, start-agent NODE, restart-dockerd NODE:
#                           the same as restart/stop/start NODE DAEMON
#
# Layout: 192.168.77.0/24 on bridge br0 in netns cdfab; cdpeer = 192.168.77.1 (default gateway, "outside");
# node N = netns cdnodeN, eth0 192.168.77.(1+N), pod range 10.7N.0.0/16; etcd at 192.168.77.2:2379.
# With AGENT_IPV6=1 also fd00:77::/64 on br0 (peer fd00:77::1, node N fd00:77::(1+N)), pods fd00:7N::/96.
#
# Environment:
#   DOCKER_VERSION  engine of a node at `up`: 20.10 (Debian's docker.io) or a built one (cached); CILIUM_VERSION
#                   its agent (built, cached). Default: the matrix's current pair (internal/matrix, read with
#                   `go run ./cmd/testbed version docker|cilium`). When set and a node is up with other
#                   versions, `up` fails with rc 4 (down it first)
#   TESTBED_ID   a short name ([a-z0-9]{1,8}) for a second bed on the same host: netns, cgroups and the state
#                dir get it as a prefix (ID-cdnode1, /tmp/ID-cdtb); default none (cdnode1, /tmp/cdtb)
#   TESTBED_DIR  state root (default /tmp/cdtb; node dir $TESTBED_DIR/nN; keep it short: socket paths)
#   PLUGIN_BIN   plugin binary (default <repo>/bin/cilium-docker); PLUGIN_ARGS extra plugin args;
#                PLUGIN_METRICS_ADDRESS its --metrics-address in the node (default 127.0.0.1:9962; empty: none);
#                PLUGIN_RECONCILE_INTERVAL its --reconcile-interval (default 20s, the shortest; empty: the plugin's)
#                PLUGIN_POLICY_SYNC non-empty (default 1): the plugin syncs POLICY_DIR with the bed's etcd
#                (--policy-dir, --etcd-endpoints, --node-name <node netns>); empty: no sync
#                PLUGIN_IDENTITY_GC_INTERVAL with the sync, its --identity-gc-interval (default 10s: Cilium's
#                identity GC, elected among the nodes, passes often enough for a test's patience, and any
#                false removal shows in every test; empty: the plugin's 15m)
#   PLUGIN_MODE  process (default), none or stack. none: no legacy plugin (no socket in the node's
#                /run/docker/plugins), for a managed plugin the test creates and enables on the node's dockerd
#                (scripts/plugin.sh). stack: `up` starts only dockerd, in a node with its own /run (dockerd also serves
#                /run/docker.sock there): etcd, the agent and the plugin are the compose stack's containers,
#                which the test brings up with `docker compose` (e2e TestComposeStack); node N>1 needs no node 1
#   AGENT_IPV6   1: the node's agent runs with IPv6 on (--enable-ipv6, --ipv6-range fd00:7N::/96, --ipv6-node
#                = the node's fabric address fd00:77::(1+N)), its eth0 and the peer carry IPv6, and its dockerd
#                reads a resolv.conf that names an IPv6 nameserver (the peer). Default 0 (IPv4 only). When
#                set and a node is up with the other setting, `up` fails with rc 4 (down it first)
#   AGENT_API_LIMITS  stack (default): the agent's API rate limits of AGENT_CONFIG_DIR (the stack's, raised);
#                agent: the agent's own defaults (AGENT_CONFIG_DIR without its api-rate-limit), as on an
#                existing Cilium host install. When set and a node is up with the other, `up` fails with rc 4
#   AGENT_ARGS   extra cilium-agent args; AGENT_CONFIG_DIR shared agent flags (default <repo>/compose/agent-config)
#   CILIUM_DOCKER_CACHE / XDG_CACHE_HOME  cache root, as scripts/build-cilium.sh
#   DOCKERD_LOG_LEVEL (default debug); TESTBED_KEEP_ON_FAIL=1 keeps a node whose `up` failed
#   TESTBED_PURGE=1 makes `down` delete the node directory (logs included)
#   AGENT_TIMEOUT DOCKERD_TIMEOUT PLUGIN_TIMEOUT ETCD_TIMEOUT STOP_TIMEOUT  deadlines in seconds
#
# Notes: commands on one bed are serialised by a lock. Each agent gets K8S_NODE_NAME=<node netns> (else
# every node is named after the hostname and they collide in etcd). /proc/sys/kernel is read-only inside a
# node, so the agent cannot set kernel.timer_migration or kernel.unprivileged_bpf_disabled (it logs a
# warning and goes on); timer_migration is also recorded at the first `up` and restored at the last `down`.
# Mounts live only in the node's mount namespace.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

PROG=testbed
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$SCRIPT_DIR")
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
TESTBED_ID=${TESTBED_ID:-}
[[ "$TESTBED_ID" =~ ^([a-z0-9]{1,8})?$ ]] || { echo "$PROG: TESTBED_ID must match [a-z0-9]{1,8}" >&2; exit 2; }
NS_PREFIX=${TESTBED_ID:+$TESTBED_ID-}
TESTBED_DIR=${TESTBED_DIR:-/tmp/${NS_PREFIX}cdtb}
REQ_DOCKER_VERSION=${DOCKER_VERSION:-}   # set explicitly: `up` checks an up node against them
REQ_CILIUM_VERSION=${CILIUM_VERSION:-}
REQ_AGENT_IPV6=${AGENT_IPV6:-}
AGENT_IPV6=${AGENT_IPV6:-0}
REQ_AGENT_API_LIMITS=${AGENT_API_LIMITS:-}
AGENT_API_LIMITS=${AGENT_API_LIMITS:-stack}
DOCKER_VERSION=${DOCKER_VERSION:-}   # `up` takes the matrix's current pair when unset (check_versions)
CILIUM_VERSION=${CILIUM_VERSION:-}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
AGENT_CONFIG_DIR=${AGENT_CONFIG_DIR:-$REPO_DIR/compose/agent-config}
PLUGIN_BIN=${PLUGIN_BIN:-$REPO_DIR/bin/cilium-docker}
TB_BIN=$REPO_DIR/bin/testbed   # cmd/testbed: the parts of the bed in Go (testbed/gobed.sh)
PLUGIN_ARGS=${PLUGIN_ARGS:-}
PLUGIN_METRICS_ADDRESS=${PLUGIN_METRICS_ADDRESS-127.0.0.1:9962}
PLUGIN_RECONCILE_INTERVAL=${PLUGIN_RECONCILE_INTERVAL-20s}
PLUGIN_POLICY_SYNC=${PLUGIN_POLICY_SYNC-1}
PLUGIN_IDENTITY_GC_INTERVAL=${PLUGIN_IDENTITY_GC_INTERVAL-10s}
PLUGIN_MODE=${PLUGIN_MODE:-process}
AGENT_ARGS=${AGENT_ARGS:-}
DOCKERD_LOG_LEVEL=${DOCKERD_LOG_LEVEL:-debug}
TEST_IMAGE=cdbusybox:latest
FABRIC_NS=${NS_PREFIX}cdfab
PEER_NS=${NS_PREFIX}cdpeer
NET_PREFIX=192.168.77
PEER_IP=$NET_PREFIX.1
NET6_PREFIX=fd00:77:
PEER_IP6=${NET6_PREFIX}:1
ETCD_IP=$NET_PREFIX.2

AGENT_TIMEOUT=${AGENT_TIMEOUT:-120}
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
PLUGIN_TIMEOUT=${PLUGIN_TIMEOUT:-60}
ETCD_TIMEOUT=${ETCD_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

# shellcheck source=SCRIPTDIR/testbed/common.sh
. "$SCRIPT_DIR/testbed/common.sh"
# shellcheck source=SCRIPTDIR/testbed/gobed.sh
. "$SCRIPT_DIR/testbed/gobed.sh"
# shellcheck source=SCRIPTDIR/testbed/node.sh
. "$SCRIPT_DIR/testbed/node.sh"
# shellcheck source=SCRIPTDIR/testbed/agent.sh
. "$SCRIPT_DIR/testbed/agent.sh"

# ---------------------------------------------------------------- commands

need_up() { holder_pid >/dev/null || die "node $NODE is not up"; }

cmd_up() {
  [ $# -eq 1 ] || die "usage: up NODE"
  node_vars "$1"
  check_versions
  if [ "$NODE" != 1 ] && [ "$PLUGIN_MODE" != stack ]; then
    (node_vars 1; recorded_pid etcd >/dev/null) || die "node 1 (etcd) must be up before node $NODE"
  fi
  [ -x "$PLUGIN_BIN" ] || die "plugin binary $PLUGIN_BIN missing (set PLUGIN_BIN, e.g. to the cached cilium-docker-upstream)"
  [ -d "$AGENT_CONFIG_DIR" ] || die "agent config dir $AGENT_CONFIG_DIR missing"
  [[ "$PLUGIN_MODE" =~ ^(process|none|stack)$ ]] || die "PLUGIN_MODE must be process, none or stack"
  [[ "$AGENT_IPV6" =~ ^[01]$ ]] || die "AGENT_IPV6 must be 0 or 1"
  [[ "$AGENT_API_LIMITS" =~ ^(stack|agent)$ ]] || die "AGENT_API_LIMITS must be stack or agent"
  # Builds (when not cached) run before the lock is taken.
  CILIUM_DIR=$(cilium_dir "$CILIUM_VERSION")
  ETCD_BIN=$(etcd_bin)
  engine_resolve
  take_lock
  if node_is_up; then
    local up_docker up_cilium
    up_docker=$(node_env DOCKER_VERSION) up_cilium=$(node_env CILIUM_VERSION)
    if { [ -n "$REQ_DOCKER_VERSION" ] && [ "$up_docker" != "$DOCKER_VERSION" ]; } ||
       { [ -n "$REQ_CILIUM_VERSION" ] && [ "$up_cilium" != "$CILIUM_VERSION" ]; } ||
       { [ -n "$REQ_AGENT_IPV6" ] && [ "$(node_env AGENT_IPV6)" != "$AGENT_IPV6" ]; } ||
       { [ -n "$REQ_AGENT_API_LIMITS" ] && [ "$(node_env AGENT_API_LIMITS)" != "$AGENT_API_LIMITS" ]; }; then
      log "node $NODE is up with docker ${up_docker:-?}, cilium ${up_cilium:-?}, AGENT_IPV6=$(node_env AGENT_IPV6), AGENT_API_LIMITS=$(node_env AGENT_API_LIMITS), not $DOCKER_VERSION, $CILIUM_VERSION, AGENT_IPV6=$AGENT_IPV6, AGENT_API_LIMITS=$AGENT_API_LIMITS: down it first"
      exit 4
    fi
    log "node $NODE already up (docker $up_docker, cilium $up_cilium)"
    grep -qx "PLUGIN_MODE=$PLUGIN_MODE" "$NODE_DIR/env" || log "WARNING: node $NODE is up, not in PLUGIN_MODE=$PLUGIN_MODE"
    cat "$NODE_DIR/env"
    return 0
  fi
  node_up
  cat "$NODE_DIR/env"
}

cmd_down() {
  [ $# -eq 1 ] || die "usage: down NODE"
  node_vars "$1"
  take_lock
  node_down
}

cmd_down_all() {
  local t0 n
  t0=$(now)
  take_lock
  for n in $(nodes_left | sort -rnu); do node_vars "$n"; node_down; done
  if [ -z "$(nodes_left)" ]; then teardown_fabric; fi
  log "down-all in $(elapsed "$t0")s"
}

cmd_status() {
  local n rc=0 c pid state ns
  for ns in "$FABRIC_NS" "$PEER_NS"; do
    if netns_exists "$ns"; then echo "$ns: present"; else echo "$ns: absent"; fi
  done
  for n in $(nodes_left | sort -nu); do
    node_vars "$n"
    echo "node $n versions: docker $(node_env DOCKER_VERSION) ($(node_env DOCKER_ENGINE_VERSION)), cilium $(node_env CILIUM_VERSION)"
    for c in holder etcd agent plugin dockerd; do
      [ -f "$NODE_DIR/$c.pid" ] || continue
      if pid=$(recorded_pid "$c"); then state="running pid $pid"; else state=DEAD; rc=3; fi
      echo "node $n $c: $state"
    done
    if agent_ok; then echo "node $n agent health: Ok"; else echo "node $n agent health: not Ok"; fi
    if dockerd_ok; then echo "node $n dockerd ping: OK"; else echo "node $n dockerd ping: failed"; fi
    if [ "$(node_env PLUGIN_MODE)" = none ]; then echo "node $n plugin: none (PLUGIN_MODE=none)"
    elif plugin_ok; then echo "node $n plugin activate: OK"; else echo "node $n plugin activate: failed"; fi
  done
  return "$rc"
}

cmd_env() {
  [ $# -eq 1 ] || die "usage: env NODE"
  node_vars "$1"
  [ -f "$NODE_DIR/env" ] || die "node $NODE is not up"
  cat "$NODE_DIR/env"
}

cmd_logs() {
  [ $# -ge 1 ] || die "usage: logs NODE [LINES]"
  node_vars "$1"
  local lines=${2:-60} c
  for c in etcd agent plugin dockerd; do
    [ -f "$NODE_DIR/$c.log" ] || continue
    echo "==== node $NODE $c.log (last $lines lines) ===="
    tail -n "$lines" "$NODE_DIR/$c.log"
  done
}

cmd_exec() {
  [ $# -ge 2 ] || die "usage: exec NODE|peer CMD..."
  if [ "$1" = peer ]; then
    shift
    exec ip netns exec "$PEER_NS" "$@"
  fi
  node_vars "$1"
  shift
  local h
  h=$(holder_pid) || die "node $NODE is not up"
  exec nsenter --mount="/proc/$h/ns/mnt" --net="/run/netns/$NODE_NS" --wd="$PWD" -- \
    env "DOCKER_HOST=unix://$NODE_DIR/docker.sock" "PATH=$NODE_DIR/bin:$PATH" "$@"
}

daemon_arg() { # NAME: one of the node's daemons
  [[ "$1" =~ ^(etcd|agent|plugin|dockerd)$ ]] || die "DAEMON must be etcd, agent, plugin or dockerd, got '$1'"
}

cmd_daemon() { # stop|start|restart NODE DAEMON
  local op=$1
  [ $# -eq 3 ] || die "usage: $op NODE DAEMON"
  node_vars "$2"
  daemon_arg "$3"
  take_lock
  need_up
  case "$op" in
    stop) stop_recorded "$3" ;;
    start) start_again "$3" ;;
    restart) stop_recorded "$3"; start_again "$3" ;;
  esac
}

cmd_signal() {
  [ $# -eq 3 ] || die "usage: signal NODE DAEMON SIG"
  node_vars "$1"
  daemon_arg "$2"
  [[ "$3" =~ ^[A-Z0-9]+$ ]] || die "SIG is a signal name without SIG, e.g. STOP, CONT, KILL"
  take_lock
  need_up
  signal_recorded "$2" "$3"
}

cmd_pid() {
  [ $# -eq 2 ] || die "usage: pid NODE DAEMON"
  node_vars "$1"
  daemon_arg "$2"
  recorded_pid "$2"
}

cmd_replace_agent() {
  [ $# -eq 2 ] || die "usage: replace-agent NODE VERSION"
  node_vars "$1"
  [[ "$2" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION '$2' is not a cilium version"
  local dir
  dir=$(cilium_dir "$2")   # built, when missing, before the lock is taken
  take_lock
  need_up
  replace_agent "$2" "$dir"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

main() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  [[ "$TESTBED_DIR" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "TESTBED_DIR must be an absolute path without spaces"
  [ $# -ge 1 ] || usage
  mkdir -p "$TESTBED_DIR" "$CACHE_ROOT"
  tb_ensure
  local cmd=$1
  shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    down-all) cmd_down_all ;;
    status) cmd_status ;;
    env) cmd_env "$@" ;;
    logs) cmd_logs "$@" ;;
    exec) cmd_exec "$@" ;;
    stop|start|restart) cmd_daemon "$cmd" "$@" ;;
    signal) cmd_signal "$@" ;;
    pid) cmd_pid "$@" ;;
    replace-agent) cmd_replace_agent "$@" ;;
    restart-plugin) cmd_daemon restart "${1:-}" plugin ;;
    restart-agent|stop-agent|start-agent) cmd_daemon "${cmd%-agent}" "${1:-}" agent ;;
    restart-dockerd) cmd_daemon restart "${1:-}" dockerd ;;
    _mounts) cmd__mounts "$@" ;;
    _agent) cmd__agent "$@" ;;
    _agent2) cmd__agent2 "$@" ;;
    -h|--help|help) usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
