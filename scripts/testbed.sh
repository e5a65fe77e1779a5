#!/usr/bin/env bash
# Test bed: real dockerd + cilium-agent (+ etcd on node 1) + the cilium-docker plugin per "node", each node
# in its own network namespace and private mount namespace, wired to a fabric bridge and an "outside" peer.
# Never touches the host network namespace. See /work/shared/reference/testbed.md.
#
# Usage: scripts/testbed.sh COMMAND [ARGS]
#   up NODE                 build node NODE (1-9; node 1 runs etcd and must be up first); prints its env
#   down NODE               tear node NODE down (idempotent); the last node down also removes the fabric
#   down-all                tear every node and the fabric down
#   status                  one line per component; rc 3 when a component of an up node is dead
#   env NODE                print the node's env file
#   logs NODE [LINES]       tails of the node's etcd, agent, plugin and dockerd logs (default 60 lines)
#   exec NODE CMD...        run CMD in the node's net+mount namespaces, DOCKER_HOST set, `docker` = the 20.10
#                           CLI, `cilium` = cilium-dbg talking to the node's agent; NODE=peer: the peer netns
#   restart-plugin NODE     stop the plugin by PID and start it again with the same arguments
#   restart-agent NODE      stop cilium-agent by PID, start it again with the same arguments, wait for healthz Ok
#   stop-agent NODE         stop cilium-agent by PID (start-agent NODE starts it again, waits for healthz Ok)
#   restart-dockerd NODE    stop dockerd by PID (it stops its containers), start it again, wait for its API
#
# Layout: 192.168.77.0/24 on bridge br0 in netns cdfab; cdpeer = 192.168.77.1 (default gateway, "outside");
# node N = netns cdnodeN, eth0 192.168.77.(1+N), pod range 10.7N.0.0/16; etcd at 192.168.77.2:2379.
#
# Environment:
#   TESTBED_DIR  state root (default /tmp/cdtb; node dir $TESTBED_DIR/nN; keep it short: socket paths)
#   PLUGIN_BIN   plugin binary (default <repo>/bin/cilium-docker); PLUGIN_ARGS extra plugin args
#   PLUGIN_MODE  process (default) or container: `up` starts etcd, agent and dockerd, builds the plugin
#                image from PLUGIN_BIN on the node's dockerd (scripts/image.sh) and runs the cilium-docker
#                service of compose/node1.yml (node2.yml for N>1) there with docker-compose, overridden by
#                COMPOSE_OVERRIDE (default <repo>/e2e/testdata/compose-testbed.yml) for the node's paths
#   AGENT_ARGS   extra cilium-agent args; AGENT_CONFIG_DIR shared agent flags (default <repo>/compose/agent-config)
#   CILIUM_DOCKER_CACHE / XDG_CACHE_HOME  cache root, as scripts/build-cilium.sh
#   DOCKERD_LOG_LEVEL (default debug); TESTBED_KEEP_ON_FAIL=1 keeps a node whose `up` failed
#   TESTBED_PURGE=1 makes `down` delete the node directory (logs included)
#   AGENT_TIMEOUT DOCKERD_TIMEOUT PLUGIN_TIMEOUT ETCD_TIMEOUT STOP_TIMEOUT  deadlines in seconds
#
# Notes: netns names are global, so one test bed per host; commands are serialised by a lock. Each agent
# gets K8S_NODE_NAME=cdnodeN (else every node is named after the hostname and they collide in etcd).
# /proc/sys/kernel is read-only inside a node, so the agent cannot set kernel.timer_migration or
# kernel.unprivileged_bpf_disabled (it logs a warning and goes on); timer_migration is also recorded at
# the first `up` and restored at the last `down`. Mounts live only in the node's mount namespace.
set -euo pipefail

PROG=testbed
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$SCRIPT_DIR")
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
TESTBED_DIR=${TESTBED_DIR:-/tmp/cdtb}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
AGENT_CONFIG_DIR=${AGENT_CONFIG_DIR:-$REPO_DIR/compose/agent-config}
PLUGIN_BIN=${PLUGIN_BIN:-$REPO_DIR/bin/cilium-docker}
PLUGIN_ARGS=${PLUGIN_ARGS:-}
PLUGIN_MODE=${PLUGIN_MODE:-process}
COMPOSE_OVERRIDE=${COMPOSE_OVERRIDE:-$REPO_DIR/e2e/testdata/compose-testbed.yml}
PLUGIN_CONTAINER=cilium-docker   # container_name of the compose service
AGENT_ARGS=${AGENT_ARGS:-}
DOCKERD_LOG_LEVEL=${DOCKERD_LOG_LEVEL:-debug}
LLVM_BIN=/usr/lib/llvm-19/bin
TEST_IMAGE=cdbusybox:latest
FABRIC_NS=cdfab
PEER_NS=cdpeer
NET_PREFIX=192.168.77
PEER_IP=$NET_PREFIX.1
ETCD_IP=$NET_PREFIX.2
# Host directories that must exist as (empty) mount points; each node mounts over them privately.
HOST_MOUNTPOINTS=(/run/docker /run/containerd /run/cilium /etc/docker)

AGENT_TIMEOUT=${AGENT_TIMEOUT:-120}
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
PLUGIN_TIMEOUT=${PLUGIN_TIMEOUT:-60}
ETCD_TIMEOUT=${ETCD_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

log() { echo "$PROG: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

docker_cli() { # the 20.10 CLI matches the daemon; a newer one on PATH negotiates down but rejects some flags
  if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker; fi
}

# ---------------------------------------------------------------- node naming

node_vars() { # N: sets the node's names, paths and addresses
  local n=$1
  [[ "$n" =~ ^[1-9]$ ]] || die "NODE must be 1-9, got '$n'"
  NODE=$n
  NODE_NS=cdnode$n
  NODE_DIR=$TESTBED_DIR/n$n
  NODE_IP=$NET_PREFIX.$((1 + n))
  POD_RANGE=10.7$n.0.0/16
  FABRIC_PORT=node$n
  CG_DOCKER=cdtb-n$n          # dockerd --cgroup-parent
  CG_AGENT=cdtb-agent-n$n     # cgroup2 subtree the agent sees as its root
  if [ "$n" = 1 ]; then ETCD_URL=http://127.0.0.1:2379; else ETCD_URL=http://$ETCD_IP:2379; fi
}

netns_exists() { [ -e "/run/netns/$1" ]; }
link_exists() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------- processes by recorded PID

proc_field() { # PID FIELD: field of /proc/PID/stat counted from 1 (pid), robust to spaces in comm
  local stat rest
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${stat##*) }
  # shellcheck disable=SC2086
  set -- $rest "$2"
  local idx=$(( ${!#} - 2 ))
  echo "${!idx}"
}

record_pid() { # NAME PID: writes "PID STARTTIME" so a reused PID is never signalled
  echo "$2 $(proc_field "$2" 22)" >"$NODE_DIR/$1.pid"
}

recorded_pid() { # NAME: prints the PID if the recorded process still runs (and is not a zombie)
  local f=$NODE_DIR/$1.pid pid start
  [ -f "$f" ] || return 1
  read -r pid start <"$f" || return 1
  [ -n "$pid" ] && [ "$(proc_field "$pid" 22 2>/dev/null)" = "$start" ] || return 1
  [ "$(proc_field "$pid" 3)" != Z ] || return 1
  echo "$pid"
}

pid_gone() { # PID STARTTIME
  local st
  st=$(proc_field "$1" 22 2>/dev/null) || return 0
  [ "$st" != "$2" ] || [ "$(proc_field "$1" 3 2>/dev/null)" = Z ]
}

stop_pid() { # LABEL PID: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL
  local label=$1 pid=$2 start t0
  start=$(proc_field "$pid" 22 2>/dev/null) || return 0
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while ! pid_gone "$pid" "$start"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$label (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while ! pid_gone "$pid" "$start" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
      break
    fi
    sleep 0.1
  done
  log "stopped $label (pid $pid) in $(elapsed "$t0")s"
}

stop_recorded() { # NAME
  local pid
  if pid=$(recorded_pid "$1"); then stop_pid "$1[n$NODE]" "$pid"; fi
  rm -f "$NODE_DIR/$1.pid"
}

# ---------------------------------------------------------------- namespaces

holder_pid() { recorded_pid holder; }

in_node() { # CMD...: run inside the node's mount + net namespaces
  local h
  h=$(holder_pid) || die "node $NODE is not up (no mount namespace holder)"
  nsenter --mount="/proc/$h/ns/mnt" --net="/run/netns/$NODE_NS" -- "$@"
}

launch() { # NAME CMD...: start a daemon in the node, detached, log to $NODE_DIR/NAME.log, PID recorded
  local name=$1 h pid
  shift
  h=$(holder_pid) || die "node $NODE has no mount namespace holder"
  # fd 9 is the testbed lock: never let a daemon inherit it.
  nsenter --mount="/proc/$h/ns/mnt" --net="/run/netns/$NODE_NS" -- setsid "$@" \
    </dev/null >>"$NODE_DIR/$name.log" 2>&1 9>&- &
  pid=$!
  record_pid "$name" "$pid"
  log "started ${name}[n$NODE] pid $pid"
}

ensure_fabric() {
  if ! netns_exists "$FABRIC_NS"; then
    ip netns add "$FABRIC_NS"
    ip -n "$FABRIC_NS" link set lo up
    log "created netns $FABRIC_NS"
  fi
  if ! link_exists "$FABRIC_NS" br0; then
    ip -n "$FABRIC_NS" link add br0 type bridge
    ip -n "$FABRIC_NS" link set br0 up
  fi
  if ! netns_exists "$PEER_NS"; then
    ip netns add "$PEER_NS"
    ip -n "$PEER_NS" link set lo up
    log "created netns $PEER_NS ($PEER_IP)"
  fi
  if ! link_exists "$PEER_NS" eth0; then
    ip -n "$PEER_NS" link add eth0 type veth peer name peer netns "$FABRIC_NS"
    ip -n "$PEER_NS" addr add "$PEER_IP/24" dev eth0
    ip -n "$PEER_NS" link set eth0 up
    ip -n "$FABRIC_NS" link set peer master br0 up
  fi
}

kill_netns_pids() { # NETNS: processes left in a test netns (started by tests in it)
  local pids
  netns_exists "$1" || return 0
  pids=$(ip netns pids "$1" 2>/dev/null | tr '\n' ' ')
  [ -n "${pids// /}" ] || return 0
  log "killing processes left in netns $1: $pids"
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

nodes_left() { # prints the node numbers that still have a netns or a holder
  local d n
  for d in /run/netns/cdnode[1-9]; do [ -e "$d" ] && echo "${d#/run/netns/cdnode}"; done
  for d in "$TESTBED_DIR"/n[1-9]; do
    n=${d##*/n}
    [ -f "$d/holder.pid" ] && echo "$n"
  done
  return 0
}

teardown_fabric() {
  local ns
  for ns in "$PEER_NS" "$FABRIC_NS"; do
    if netns_exists "$ns"; then
      kill_netns_pids "$ns"
      ip netns del "$ns"
      log "deleted netns $ns"
    fi
  done
  restore_host_state
}

# ---------------------------------------------------------------- host state (recorded, restored)

save_host_state() { # first up: record global sysctls the agent may change, and host dirs we create
  local f=$TESTBED_DIR/host.saved d
  if [ ! -f "$f" ]; then
    {
      echo "timer_migration=$(cat /proc/sys/kernel/timer_migration)"
      echo "unprivileged_bpf_disabled=$(cat /proc/sys/kernel/unprivileged_bpf_disabled)"
    } >"$f"
  fi
  for d in "${HOST_MOUNTPOINTS[@]}"; do
    if [ ! -d "$d" ]; then
      mkdir -p "$d"
      echo "$d" >>"$TESTBED_DIR/host.dirs"
      log "created empty host mount point $d"
    fi
  done
}

restore_host_state() {
  local f=$TESTBED_DIR/host.saved tm ub d
  if [ -f "$f" ]; then
    tm=$(sed -n 's/^timer_migration=//p' "$f")
    ub=$(sed -n 's/^unprivileged_bpf_disabled=//p' "$f")
    if [ -n "$tm" ] && [ "$(cat /proc/sys/kernel/timer_migration)" != "$tm" ]; then
      echo "$tm" >/proc/sys/kernel/timer_migration
      log "restored kernel.timer_migration=$tm"
    fi
    if [ -n "$ub" ] && [ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)" != "$ub" ]; then
      log "WARNING: kernel.unprivileged_bpf_disabled is $(cat /proc/sys/kernel/unprivileged_bpf_disabled), was $ub"
    fi
    rm -f "$f"
  fi
  if [ -f "$TESTBED_DIR/host.dirs" ]; then
    tac "$TESTBED_DIR/host.dirs" | while read -r d; do rmdir "$d" 2>/dev/null || log "left non-empty $d"; done
    rm -f "$TESTBED_DIR/host.dirs"
  fi
}

cgroup2_root() { # the host's cgroup2 hierarchy (pure v2 or hybrid "unified"), empty if none
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo /sys/fs/cgroup
  elif [ -d /sys/fs/cgroup/unified ] && [ "$(stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
    echo /sys/fs/cgroup/unified
  fi
}

remove_node_cgroups() { # empty cgroups named after the node, in every hierarchy
  local d
  for d in /sys/fs/cgroup/*/"$CG_DOCKER" /sys/fs/cgroup/"$CG_DOCKER" /sys/fs/cgroup/*/"$CG_AGENT" \
           /sys/fs/cgroup/"$CG_AGENT"; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    if [ -d "$d" ]; then log "cgroup $d not empty, left"; fi
  done
}

# ---------------------------------------------------------------- cache, image

cilium_dir() {
  local d
  d=$("$SCRIPT_DIR/build-cilium.sh" 9>&- | tail -n1)
  if [ ! -x "$d/bin/cilium-agent" ] || [ ! -x "$d/bin/cilium-dbg" ] || [ ! -d "$d/lib/bpf" ]; then
    die "cilium cache incomplete in '$d'"
  fi
  echo "$d"
}

image_tar() { # builds the busybox rootfs tarball once (testbed.md §3); prints its path
  local dir=$CACHE_ROOT/testimg tar tmp root a
  tar=$dir/cdbusybox-rootfs.tar
  if [ -s "$tar" ]; then echo "$tar"; return; fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  root=$tmp/rootfs
  mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,run,usr}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"   # linking busybox onto itself destroys it
  done
  ln -s bin "$root/sbin"
  ln -s ../bin "$root/usr/bin"
  ln -s ../bin "$root/usr/sbin"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$tar"
  rm -rf "$tmp"
  log "built test image rootfs $tar"
  echo "$tar"
}

# ---------------------------------------------------------------- readiness

wait_for() { # LABEL TIMEOUT PIDNAME CHECK...: poll CHECK until it succeeds; fail if the daemon died
  local label=$1 timeout=$2 pidname=$3 t0 deadline
  shift 3
  t0=$(now)
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pidname" ] && ! recorded_pid "$pidname" >/dev/null; then
      die "$label: process exited (see $NODE_DIR/$pidname.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "$label: not ready after ${timeout}s"
    sleep 0.1
  done
  log "$label ready in $(elapsed "$t0")s"
}

etcd_healthy() { # URL, checked from inside the node's netns
  nsenter --net="/run/netns/$NODE_NS" -- curl -sf --max-time 2 "$1/health" | grep -q '"health":"true"'
}

agent_ok() {
  [ "$(curl -s --max-time 2 --unix-socket "$NODE_DIR/cilium-run/cilium.sock" http://localhost/v1/healthz |
       jq -r .cilium.state)" = Ok ]
}

plugin_ok() {
  [ -S "$NODE_DIR/plugins/cilium.sock" ] &&
    curl -sf --max-time 2 -X POST --unix-socket "$NODE_DIR/plugins/cilium.sock" \
      http://localhost/Plugin.Activate | grep -q NetworkDriver
}

dockerd_ok() {
  [ "$(curl -s --max-time 2 --unix-socket "$NODE_DIR/docker.sock" http://localhost/_ping)" = OK ]
}

# ---------------------------------------------------------------- up

node_prepare_dir() {
  if grep -q " ${NODE_DIR}[/ ]" /proc/self/mountinfo; then die "host mounts under $NODE_DIR remain"; fi
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"/{plugins,cilium-run,cgsave,cgroup2,policies,lib,bin}
  echo '{}' >"$NODE_DIR/daemon.json"
}

node_network() {
  ip netns add "$NODE_NS"
  ip -n "$NODE_NS" link set lo up
  ip -n "$NODE_NS" link add eth0 type veth peer name "$FABRIC_PORT" netns "$FABRIC_NS"
  ip -n "$FABRIC_NS" link set "$FABRIC_PORT" master br0 up
  ip -n "$NODE_NS" addr add "$NODE_IP/24" dev eth0
  ip -n "$NODE_NS" link set eth0 up
  ip -n "$NODE_NS" route add default via "$PEER_IP"
  log "netns $NODE_NS: eth0 $NODE_IP/24 via $PEER_IP"
}

node_mount_ns() { # long-lived holder of the node's private mount namespace, then the node's mounts
  local own pid deadline
  own=$(readlink /proc/self/ns/mnt)
  nsenter --net="/run/netns/$NODE_NS" -- setsid unshare --mount --propagation private -- sleep infinity \
    </dev/null >/dev/null 2>&1 9>&- &
  pid=$!
  record_pid holder "$pid"
  deadline=$((SECONDS + 10))
  while [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$own" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "mount namespace holder did not unshare"
    sleep 0.05
  done
  readlink "/proc/$pid/ns/mnt" >"$NODE_DIR/mntns"
  in_node "$SELF" _mounts "$NODE_DIR"
  log "mount namespace ready (holder pid $pid)"
}

# Runs inside the node's fresh private mount namespace and netns.
cmd__mounts() {
  local nd=$1
  # Copies of /run/netns/* would keep other test netns alive after `ip netns del`: drop them here.
  if mountpoint -q /run/netns; then umount -l /run/netns; fi
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

# Agent wrapper, runs in the node: own cgroup2 subtree + cgroup namespace, private cgroup2 mount.
cmd__agent() { # CGDIR MNT AGENT ARGS...
  local cgdir=$1
  shift
  if [ -n "$cgdir" ]; then echo $$ >"$cgdir/cgroup.procs"; fi
  exec unshare --cgroup -- "$SELF" _agent2 "$@"
}

cmd__agent2() { # MNT AGENT ARGS...
  mountpoint -q "$1" || mount -t cgroup2 none "$1"   # mounted already by an earlier start of this node's agent
  shift
  exec "$@"
}

write_node_bin() { # `docker` and `cilium` for `exec`
  ln -sf "$(docker_cli)" "$NODE_DIR/bin/docker"
  cat >"$NODE_DIR/bin/cilium" <<EOF
#!/bin/sh
exec "$CILIUM_DIR/bin/cilium-dbg" -H "unix://$NODE_DIR/cilium-run/cilium.sock" "\$@"
EOF
  chmod +x "$NODE_DIR/bin/cilium"
  ln -sf cilium "$NODE_DIR/bin/cilium-dbg"
}

start_etcd() {
  launch etcd etcd --name cdtb --data-dir "$NODE_DIR/etcd" --logger zap \
    --listen-client-urls "http://127.0.0.1:2379,http://$NODE_IP:2379" \
    --advertise-client-urls "http://$NODE_IP:2379" \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster cdtb=http://127.0.0.1:2380
}

start_agent() {
  local cg2 cgdir="" extra=()
  cg2=$(cgroup2_root)
  if [ -n "$cg2" ]; then
    cgdir=$cg2/$CG_AGENT
    mkdir -p "$cgdir"
  else
    log "WARNING: no cgroup2 hierarchy found; the agent sees the whole cgroup tree"
  fi
  cp -r "$CILIUM_DIR/lib/bpf" "$NODE_DIR/lib/bpf"
  read -ra extra <<<"$AGENT_ARGS"
  # Node name: hostname by default, the same for every node here; K8S_NODE_NAME is only a name while
  # enable-k8s=false (pkg/k8s/client IsEnabled checks EnableK8s first).
  local argv=(env "PATH=$LLVM_BIN:$PATH" "K8S_NODE_NAME=$NODE_NS" "$SELF" _agent "$cgdir" "$NODE_DIR/cgroup2"
    "$CILIUM_DIR/bin/cilium-agent"
    --config-dir="$AGENT_CONFIG_DIR"
    --ipv4-node="$NODE_IP" --ipv4-range="$POD_RANGE" --devices=eth0
    --kvstore-opt=etcd.address="$ETCD_URL"
    --lib-dir="$NODE_DIR/lib" --state-dir=/var/run/cilium --bpf-root=/sys/fs/bpf
    --cgroup-root="$NODE_DIR/cgroup2" --static-cnp-path="$NODE_DIR/policies"
    "${extra[@]}")
  printf '%s\0' "${argv[@]}" >"$NODE_DIR/agent.argv"   # for restart-agent / start-agent
  launch agent "${argv[@]}"
}

start_agent_again() { # the recorded argv; the agent restores its endpoints from its state dir
  local argv=()
  [ -f "$NODE_DIR/agent.argv" ] || die "node $NODE has no recorded agent command"
  recorded_pid agent >/dev/null && die "cilium-agent[n$NODE] is running"
  mapfile -d '' argv <"$NODE_DIR/agent.argv"
  echo "==== testbed: agent started again at $(date -Is) ====" >>"$NODE_DIR/agent.log"
  launch agent "${argv[@]}"
  wait_for "cilium-agent[n$NODE]" "$AGENT_TIMEOUT" agent agent_ok
}

start_plugin() { # argv saved NUL-separated for restart-plugin
  local argv=() extra=()
  read -ra extra <<<"$PLUGIN_ARGS"
  argv=("$PLUGIN_BIN" --docker-plugins /run/docker/plugins --cilium-api unix:///var/run/cilium/cilium.sock
        --docker-host-path "unix://$NODE_DIR/docker.sock" -D "${extra[@]}")
  printf '%s\0' "${argv[@]}" >"$NODE_DIR/plugin.argv"
  launch plugin "${argv[@]}"
}

restart_plugin_process() {
  local argv=()
  if [ -f "$NODE_DIR/plugin.container" ]; then restart_plugin_container; return; fi
  [ -f "$NODE_DIR/plugin.argv" ] || die "node $NODE has no recorded plugin command"
  mapfile -d '' argv <"$NODE_DIR/plugin.argv"
  stop_recorded plugin
  echo "==== testbed: plugin restarted at $(date -Is) ====" >>"$NODE_DIR/plugin.log"
  launch plugin "${argv[@]}"
  wait_for "plugin[n$NODE]" "$PLUGIN_TIMEOUT" plugin plugin_ok
}

# ---- PLUGIN_MODE=container: the plugin is compose/nodeN.yml's cilium-docker service on the node's dockerd,
# built from PLUGIN_BIN; its main process is recorded as the plugin, its log followed into plugin.log.

plugin_compose() { # ARGS...: docker-compose on the node's dockerd: the node's compose file + COMPOSE_OVERRIDE
  local file=node1.yml
  [ "$NODE" = 1 ] || file=node2.yml
  env DOCKER_HOST="unix://$NODE_DIR/docker.sock" NODE_DIR="$NODE_DIR" NODE_NAME="$NODE_NS" NODE_IP="$NODE_IP" \
    NODE_DEVICE=eth0 POD_RANGE="$POD_RANGE" ETCD_ADDRESS="$ETCD_URL" CILIUM_DOCKER_VERSION="$1" \
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
  wait_for "plugin[n$NODE]" "$PLUGIN_TIMEOUT" plugin plugin_ok
}

start_dockerd() {
  launch dockerd /usr/sbin/dockerd -H "unix://$NODE_DIR/docker.sock" --data-root "$NODE_DIR/docker" \
    --exec-root "$NODE_DIR/exec" --pidfile "$NODE_DIR/docker.pidfile" --cgroup-parent "/$CG_DOCKER" \
    --config-file "$NODE_DIR/daemon.json" --log-level "$DOCKERD_LOG_LEVEL"
}

import_image() {
  local tar t0
  tar=$(image_tar)
  t0=$(now)
  "$(docker_cli)" -H "unix://$NODE_DIR/docker.sock" import -c 'CMD ["/bin/sh"]' "$tar" "$TEST_IMAGE" >/dev/null
  log "imported $TEST_IMAGE in $(elapsed "$t0")s"
}

write_env() {
  cat >"$NODE_DIR/env" <<EOF
NODE=$NODE
NODE_NS=$NODE_NS
NODE_NAME=$NODE_NS
NODE_DIR=$NODE_DIR
NODE_IP=$NODE_IP
POD_RANGE=$POD_RANGE
PEER_IP=$PEER_IP
DOCKER_HOST=unix://$NODE_DIR/docker.sock
CILIUM_SOCK=$NODE_DIR/cilium-run/cilium.sock
PLUGIN_SOCK=$NODE_DIR/plugins/cilium.sock
POLICY_DIR=$NODE_DIR/policies
ETCD_URL=$ETCD_URL
TEST_IMAGE=$TEST_IMAGE
PLUGIN_MODE=$PLUGIN_MODE
CILIUM_DBG=$CILIUM_DIR/bin/cilium-dbg
MNT_HOLDER_PID=$(holder_pid)
EOF
}

node_is_up() {
  holder_pid >/dev/null && recorded_pid agent >/dev/null && recorded_pid plugin >/dev/null &&
    recorded_pid dockerd >/dev/null && [ -f "$NODE_DIR/env" ]
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

cmd_up() {
  [ $# -eq 1 ] || die "usage: up NODE"
  node_vars "$1"
  take_lock
  if node_is_up; then
    log "node $NODE already up"
    grep -qx "PLUGIN_MODE=$PLUGIN_MODE" "$NODE_DIR/env" || log "WARNING: node $NODE is up, not in PLUGIN_MODE=$PLUGIN_MODE"
    cat "$NODE_DIR/env"
    return 0
  fi
  if [ "$NODE" != 1 ]; then
    (node_vars 1; recorded_pid etcd >/dev/null) || die "node 1 (etcd) must be up before node $NODE"
  fi
  [ -x "$PLUGIN_BIN" ] || die "plugin binary $PLUGIN_BIN missing (set PLUGIN_BIN, e.g. to the cached cilium-docker-upstream)"
  [ -d "$AGENT_CONFIG_DIR" ] || die "agent config dir $AGENT_CONFIG_DIR missing"
  [[ "$PLUGIN_MODE" =~ ^(process|container)$ ]] || die "PLUGIN_MODE must be process or container"
  CILIUM_DIR=$(cilium_dir)
  node_down_quiet
  local t0
  t0=$(now)
  log "up node $NODE ($NODE_NS, $NODE_IP, pods $POD_RANGE, dir $NODE_DIR)"
  trap on_up_exit EXIT
  save_host_state
  node_prepare_dir
  write_node_bin
  ensure_fabric
  node_network
  node_mount_ns
  if [ "$NODE" = 1 ]; then
    start_etcd
    wait_for "etcd" "$ETCD_TIMEOUT" etcd etcd_healthy "$ETCD_URL"
  else
    wait_for "etcd at $ETCD_URL from $NODE_NS" "$ETCD_TIMEOUT" "" etcd_healthy "$ETCD_URL"
  fi
  start_agent
  [ "$PLUGIN_MODE" = container ] || start_plugin
  start_dockerd
  wait_for "dockerd[n$NODE]" "$DOCKERD_TIMEOUT" dockerd dockerd_ok
  import_image
  [ "$PLUGIN_MODE" != container ] || start_plugin_container
  wait_for "cilium-agent[n$NODE]" "$AGENT_TIMEOUT" agent agent_ok
  wait_for "plugin[n$NODE]" "$PLUGIN_TIMEOUT" plugin plugin_ok
  write_env
  trap - EXIT
  log "node $NODE up in $(elapsed "$t0")s"
  cat "$NODE_DIR/env"
}

# ---------------------------------------------------------------- down

docker_cleanup() { # containers, then cilium networks (else the next dockerd start waits for the plugin)
  local dk=(timeout 60 "$(docker_cli)" -H "unix://$NODE_DIR/docker.sock") ids nets
  dockerd_ok || return 0
  local keep=none   # PLUGIN_MODE=container: the plugin container goes last, after the networks
  [ -f "$NODE_DIR/plugin.container" ] && keep=$PLUGIN_CONTAINER
  ids=$("${dk[@]}" ps -a --format '{{.Names}}' 2>/dev/null | grep -vx "$keep" | tr '\n' ' ') || true
  if [ -n "${ids// /}" ]; then
    # shellcheck disable=SC2086
    "${dk[@]}" rm -f $ids >/dev/null || log "docker rm -f failed"
    log "removed containers: $ids"
  fi
  nets=$("${dk[@]}" network ls -q --filter driver=cilium 2>/dev/null | tr '\n' ' ') || true
  if [ -n "${nets// /}" ]; then
    # shellcheck disable=SC2086
    "${dk[@]}" network rm $nets >/dev/null || log "docker network rm failed"
    log "removed cilium networks: $nets"
  fi
  if [ "$keep" != none ]; then "${dk[@]}" rm -f "$keep" >/dev/null || log "docker rm -f $keep failed"; fi
}

node_processes() { # PIDs in the node's mount ns, netns or cgroups (children of our daemons, test execs)
  local mnt=""
  [ -f "$NODE_DIR/mntns" ] && mnt=$(cat "$NODE_DIR/mntns")
  {
    if [ -n "$mnt" ]; then
      find /proc/[0-9]*/ns/mnt -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
        awk -v m="$mnt" '$2 == m { split($1, a, "/"); print a[3] }' || true
    fi
    grep -lE ":/($CG_DOCKER|$CG_AGENT)(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 || true
    if netns_exists "$NODE_NS"; then ip netns pids "$NODE_NS" 2>/dev/null || true; fi
  } | sort -u
}

sweep_node() { # kill what is left after the recorded daemons stopped, except the namespace holder
  local holder pid pids=()
  holder=$(holder_pid) || holder=none
  while read -r pid; do
    if [ -z "$pid" ] || [ "$pid" = $$ ] || [ "$pid" = "$holder" ]; then continue; fi
    [ "$(proc_field "$pid" 3 2>/dev/null)" != Z ] || continue   # zombies wait for their reaper
    pids+=("$pid")
  done < <(node_processes)
  [ "${#pids[@]}" -gt 0 ] || return 0
  log "killing leftover processes of node $NODE: ${pids[*]}"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  sleep 0.2
}

node_down() {
  local t0 had=0
  t0=$(now)
  { [ -d "$NODE_DIR" ] && ls "$NODE_DIR"/*.pid >/dev/null 2>&1; } && had=1
  netns_exists "$NODE_NS" && had=1
  if [ "$had" = 1 ]; then
    if [ "$NODE" = 1 ] && [ -n "$(nodes_left | grep -v '^1$' || true)" ]; then
      log "WARNING: node 1 holds etcd; other nodes lose their kvstore"
    fi
    docker_cleanup
    stop_recorded dockerd
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

# ---------------------------------------------------------------- inspection

cmd_status() {
  local n rc=0 c pid state
  for ns in "$FABRIC_NS" "$PEER_NS"; do
    if netns_exists "$ns"; then echo "$ns: present"; else echo "$ns: absent"; fi
  done
  for n in $(nodes_left | sort -nu); do
    node_vars "$n"
    for c in holder etcd agent plugin dockerd; do
      [ -f "$NODE_DIR/$c.pid" ] || continue
      if pid=$(recorded_pid "$c"); then state="running pid $pid"; else state=DEAD; rc=3; fi
      echo "node $n $c: $state"
    done
    if agent_ok; then echo "node $n agent health: Ok"; else echo "node $n agent health: not Ok"; fi
    if dockerd_ok; then echo "node $n dockerd ping: OK"; else echo "node $n dockerd ping: failed"; fi
    if plugin_ok; then echo "node $n plugin activate: OK"; else echo "node $n plugin activate: failed"; fi
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

cmd_restart_plugin() {
  [ $# -eq 1 ] || die "usage: restart-plugin NODE"
  node_vars "$1"
  take_lock
  holder_pid >/dev/null || die "node $NODE is not up"
  restart_plugin_process
}

cmd_agent() { # restart|stop|start NODE
  local op=$1
  shift
  [ $# -eq 1 ] || die "usage: $op-agent NODE"
  node_vars "$1"
  take_lock
  holder_pid >/dev/null || die "node $NODE is not up"
  [ "$op" = stop ] || [ -f "$NODE_DIR/agent.argv" ] || die "node $NODE has no recorded agent command (up before restart-agent existed?)"
  case "$op" in
    restart) stop_recorded agent; start_agent_again ;;
    stop) stop_recorded agent ;;
    start) start_agent_again ;;
  esac
}

cmd_restart_dockerd() {
  [ $# -eq 1 ] || die "usage: restart-dockerd NODE"
  node_vars "$1"
  take_lock
  holder_pid >/dev/null || die "node $NODE is not up"
  stop_recorded dockerd
  echo "==== testbed: dockerd restarted at $(date -Is) ====" >>"$NODE_DIR/dockerd.log"
  start_dockerd
  wait_for "dockerd[n$NODE]" "$DOCKERD_TIMEOUT" dockerd dockerd_ok
}

# ---------------------------------------------------------------- main

take_lock() {
  exec 9>"$TESTBED_DIR/.lock"
  flock -w 900 9 || die "another testbed command holds $TESTBED_DIR/.lock"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

main() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  [[ "$TESTBED_DIR" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "TESTBED_DIR must be an absolute path without spaces"
  [ $# -ge 1 ] || usage
  mkdir -p "$TESTBED_DIR" "$CACHE_ROOT"
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
    restart-plugin) cmd_restart_plugin "$@" ;;
    restart-agent|stop-agent|start-agent) cmd_agent "${cmd%-agent}" "$@" ;;
    restart-dockerd) cmd_restart_dockerd "$@" ;;
    _mounts) cmd__mounts "$@" ;;
    _agent) cmd__agent "$@" ;;
    _agent2) cmd__agent2 "$@" ;;
    -h|--help|help) usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
