# shellcheck shell=bash
# Test bed, the parts in Go (internal/testbed, through cmd/testbed's plumbing verbs): the processes
# (started detached in their node, recorded as "PID STARTTIME" in $NODE_DIR/NAME.pid so a reused PID is
# never signalled, argv in $NODE_DIR/NAME.argv for start_again; stopped by PID), the host state (sysctls
# and mount points restored at the last down, the node's cgroups), the fabric (netns, bridge, veths) and
# the engine: dockerd of $DOCKER_VERSION (20.10 is Debian's docker.io; a built one comes from
# scripts/build-docker.sh with its containerd, shim, runc, docker-proxy and docker-init first on its PATH
# and the classic overlay2 image store), the busybox test image, the cleanup before dockerd stops (one
# CLI for every engine: Debian's 20.10 `docker`, API 1.41, which newer engines accept); etcd (node 1,
# scripts/build-etcd.sh), cilium-agent of $CILIUM_VERSION (scripts/build-cilium.sh; replaced in place by
# another version: same state dir, same flags) and the plugin under test ($PLUGIN_BIN, PLUGIN_MODE=process).

tb() {
  TESTBED_ID=$TESTBED_ID TESTBED_DIR=$TESTBED_DIR STOP_TIMEOUT=$STOP_TIMEOUT TESTBED_REPO=$REPO_DIR \
    CILIUM_DOCKER_CACHE=$CACHE_ROOT "$TB_BIN" "$@"
}

tb_ensure() { # build bin/testbed (make build does) when it is missing or older than its sources
  local src=("$REPO_DIR"/cmd/testbed "$REPO_DIR"/cmd/internal/cli "$REPO_DIR"/internal/testbed \
             "$REPO_DIR"/internal/matrix "$REPO_DIR"/procstop "$REPO_DIR"/go.mod) tmp
  if [ -x "$TB_BIN" ] && [ -z "$(find "${src[@]}" -newer "$TB_BIN" -print -quit)" ]; then return 0; fi
  command -v go >/dev/null || die "no go on PATH to build $TB_BIN (make build)"
  mkdir -p "$(dirname "$TB_BIN")"
  tmp=$(mktemp "$TB_BIN.XXXXXX")
  go -C "$REPO_DIR" build -o "$tmp" ./cmd/testbed 9>&- || { rm -f "$tmp"; die "go build ./cmd/testbed failed"; }
  mv "$tmp" "$TB_BIN"
}

record_pid() { tb _record "$NODE" "$1" "$2"; }                 # NAME PID
recorded_pid() { tb _pid "$NODE" "$1"; }                       # NAME: its PID while it runs, else rc 1
holder_pid() { recorded_pid holder; }
stop_recorded() { tb _stop "$NODE" "$1"; }                     # NAME: SIGTERM, SIGKILL after STOP_TIMEOUT
signal_recorded() { tb _signal "$NODE" "$1" "$2"; }            # NAME SIG: the record stays
launch() { local name=$1; shift; tb _launch "$NODE" "$name" -- "$@"; }
launch_recorded() { local name=$1; shift; tb _launch "$NODE" "$name" --record -- "$@"; }
start_holder() { tb _holder "$NODE"; }                         # the node's mount namespace holder
sweep_node() { tb _sweep "$NODE"; }                            # SIGKILL what is left but the holder

start_again() { # NAME: start a stopped daemon with its recorded argv and wait until it is healthy
  local name=$1 argv=()
  [ -f "$NODE_DIR/$name.argv" ] || die "node $NODE has no recorded $name command"
  if recorded_pid "$name" >/dev/null; then die "${name}[n$NODE] is running"; fi
  mapfile -d '' argv <"$NODE_DIR/$name.argv"
  echo "==== testbed: $name started again at $(date -Is) ====" >>"$NODE_DIR/$name.log"
  launch "$name" "${argv[@]}"
  wait_healthy "$name"
}

wait_healthy() { # NAME
  case "$1" in
    etcd) wait_for "etcd" "$ETCD_TIMEOUT" etcd etcd_healthy "$ETCD_URL" ;;
    agent) wait_for "cilium-agent[n$NODE]" "$AGENT_TIMEOUT" agent agent_ok ;;
    plugin) wait_for "plugin[n$NODE]" "$PLUGIN_TIMEOUT" plugin plugin_ok ;;
    dockerd) wait_for "dockerd[n$NODE]" "$DOCKERD_TIMEOUT" dockerd dockerd_ok ;;
    *) die "unknown daemon '$1'" ;;
  esac
}

save_host_state() { tb _host save; }
restore_host_state() { tb _host restore; }
cgroup2_root() { tb _cgroup2-root; }
remove_node_cgroups() { tb _cgroups-rm "$NODE"; }

netns_exists() { [ -e "/run/netns/$1" ]; }
ensure_fabric() { tb _fabric up; }
node_network() { tb _node-net "$NODE" "$AGENT_IPV6"; }
nodes_left() { tb _nodes-left; }                               # nodes with a netns or a holder
teardown_fabric() { tb _fabric down; }                         # the peer and fabric netns, the host state

docker_cli() { tb _docker-cli; }
# shellcheck disable=SC2034  # DOCKERD is read by node.sh (write_env)
engine_resolve() { DOCKERD=$(tb _engine "$DOCKER_VERSION"); }   # built when missing
dockerd_ok() { tb _dockerd-ok "$NODE"; }
engine_version() { tb _engine-version "$NODE" version; }       # empty when dockerd does not answer
engine_api_version() { tb _engine-version "$NODE" api; }
start_dockerd() { tb _start-dockerd "$NODE" "$DOCKER_VERSION" "$PLUGIN_MODE" "$DOCKERD_LOG_LEVEL"; }
import_image() { tb _import-image "$NODE"; }                   # the rootfs tarball built once (testbed.md §3)
docker_cleanup() { tb _docker-cleanup "$NODE" "$(node_env PLUGIN_MODE)"; }   # containers, then the plugin's networks

cilium_dir() { tb _cilium-dir "$1"; }                          # VERSION: its cache dir, built when missing
etcd_bin() { tb _etcd-bin; }                                   # built when missing
write_cilium_cli() { tb _cilium-cli "$NODE" "$CILIUM_DIR"; }   # `cilium` for `exec`
etcd_healthy() { tb _etcd-ok "$NODE" "$1"; }                   # URL, from inside the node's netns
agent_ok() { tb _agent-ok "$NODE"; }
plugin_ok() { tb _plugin-ok "$NODE"; }
start_etcd() { tb _start-etcd "$NODE" "$ETCD_BIN"; }
start_agent() {
  tb _start-agent "$NODE" "$CILIUM_DIR" "$AGENT_CONFIG_DIR" "$AGENT_IPV6" "$AGENT_API_LIMITS" "$SELF" "$AGENT_ARGS"
}
start_plugin() {
  tb _start-plugin "$NODE" "$PLUGIN_BIN" "$PLUGIN_METRICS_ADDRESS" "$PLUGIN_RECONCILE_INTERVAL" "$PLUGIN_POLICY_SYNC" "$PLUGIN_IDENTITY_GC_INTERVAL" "$PLUGIN_ARGS"
}

replace_agent() { # VERSION DIR: stop the agent by PID, start DIR's agent with the same state dir and flags
  local t0
  t0=$(now)
  tb _replace-agent "$NODE" "$1" "$2" "$(node_env CILIUM_DIR)"
  CILIUM_DIR=$2
  set_node_env CILIUM_VERSION "$1"
  set_node_env CILIUM_DIR "$2"
  set_node_env CILIUM_DBG "$2/bin/cilium-dbg"
  wait_healthy agent
  log "cilium-agent[n$NODE] replaced by $1 in $(elapsed "$t0")s"
}
