# shellcheck shell=bash
# shellcheck disable=SC2034  # the node variables set here are read by the other parts of the bed
# Test bed, common part: logging, node naming, the engine/agent versions of a node, readiness polling,
# the lock. Sourced by scripts/testbed.sh, which sets the configuration variables first.

log() { echo "$PROG: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

node_vars() { # N: sets the node's names, paths and addresses
  local n=$1
  [[ "$n" =~ ^[1-9]$ ]] || die "NODE must be 1-9, got '$n'"
  NODE=$n
  NODE_NS=${NS_PREFIX}cdnode$n
  NODE_DIR=$TESTBED_DIR/n$n
  NODE_IP=$NET_PREFIX.$((1 + n))
  POD_RANGE=10.7$n.0.0/16
  NODE_IP6=${NET6_PREFIX}:$((1 + n))
  POD_RANGE6=fd00:7$n::/96
  FABRIC_PORT=node$n
  CG_DOCKER=${NS_PREFIX}cdtb-n$n          # dockerd --cgroup-parent
  CG_AGENT=${NS_PREFIX}cdtb-agent-n$n     # cgroup2 subtree the agent sees as its root
  if [ "$n" = 1 ]; then ETCD_URL=http://127.0.0.1:2379; else ETCD_URL=http://$ETCD_IP:2379; fi
}

node_env() { # KEY: a value of the node's env file (empty if absent)
  [ -f "$NODE_DIR/env" ] || return 0
  sed -n "s/^$1=//p" "$NODE_DIR/env"
}

set_node_env() { # KEY VALUE: replace one line of the node's env file
  local tmp=$NODE_DIR/.env.tmp
  grep -v "^$1=" "$NODE_DIR/env" >"$tmp" || true
  echo "$1=$2" >>"$tmp"
  mv "$tmp" "$NODE_DIR/env"
}

# ---------------------------------------------------------------- versions

docker_version_norm() { # VERSION: 20.10.x is Debian's one 20.10 engine
  case "$1" in 20.10|20.10.*) echo 20.10 ;; *) echo "$1" ;; esac
}

matrix_version() { # NAME: a version of the matrix (internal/matrix), e.g. docker, cilium
  "$TB_BIN" version "$1" || die "testbed version $1 failed"
}

check_versions() { # at `up`: the versions asked for, else the matrix's current pair
  [ -n "$DOCKER_VERSION" ] || DOCKER_VERSION=$(matrix_version docker)
  [ -n "$CILIUM_VERSION" ] || CILIUM_VERSION=$(matrix_version cilium)
  DOCKER_VERSION=$(docker_version_norm "$DOCKER_VERSION")
  [[ "$DOCKER_VERSION" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || die "DOCKER_VERSION '$DOCKER_VERSION' is not a version"
  [[ "$CILIUM_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "CILIUM_VERSION '$CILIUM_VERSION' is not a version"
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

# ---------------------------------------------------------------- lock

take_lock() {
  exec 9>"$TESTBED_DIR/.lock"
  flock -w 900 9 || die "another testbed command holds $TESTBED_DIR/.lock"
}
