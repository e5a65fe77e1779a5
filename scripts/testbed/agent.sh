# shellcheck shell=bash
# Test bed, agent: etcd (node 1, the cluster's kvstore; scripts/build-etcd.sh, the version of go.mod) and cilium-agent of version $CILIUM_VERSION
# from the build cache (scripts/build-cilium.sh), in its own cgroup2 subtree and cgroup namespace.
# An agent can be replaced in place by another version: same state dir, same flags.

cilium_dir() { # VERSION: the cache dir of that cilium build (built when missing)
  local d
  d=$("$SCRIPT_DIR/build-cilium.sh" "$1" 9>&- | tail -n1)
  if [ ! -x "$d/bin/cilium-agent" ] || [ ! -x "$d/bin/cilium-dbg" ] || [ ! -d "$d/lib/bpf" ]; then
    die "cilium $1 cache incomplete in '$d'"
  fi
  echo "$d"
}

write_cilium_cli() { # `cilium` for `exec`: cilium-dbg of the node's agent version
  cat >"$NODE_DIR/bin/cilium" <<EOF
#!/bin/sh
exec "$CILIUM_DIR/bin/cilium-dbg" -H "unix://$NODE_DIR/cilium-run/cilium.sock" "\$@"
EOF
  chmod +x "$NODE_DIR/bin/cilium"
  ln -sf cilium "$NODE_DIR/bin/cilium-dbg"
}

etcd_healthy() { # URL, checked from inside the node's netns
  nsenter --net="/run/netns/$NODE_NS" -- curl -sf --max-time 2 "$1/health" | grep -q '"health":"true"'
}

agent_ok() {
  [ "$(curl -s --max-time 2 --unix-socket "$NODE_DIR/cilium-run/cilium.sock" http://localhost/v1/healthz |
       jq -r .cilium.state)" = Ok ]
}

start_etcd() {
  launch_recorded etcd "$ETCD_BIN" --name cdtb --data-dir "$NODE_DIR/etcd" --logger zap \
    --listen-client-urls "http://127.0.0.1:2379,http://$NODE_IP:2379" \
    --advertise-client-urls "http://$NODE_IP:2379" \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster cdtb=http://127.0.0.1:2380
}

agent_ipv6_args() { # an AGENT_IPV6=1 node's IPv6 flags, one a line (a bed option: compose runs IPv4 only)
  [ "$AGENT_IPV6" = 1 ] || return 0
  printf '%s\n' --enable-ipv6=true "--ipv6-node=$NODE_IP6" "--ipv6-range=$POD_RANGE6"
}

agent_config_dir() { # the agent's --config-dir: AGENT_CONFIG_DIR, without its API rate limits for AGENT_API_LIMITS=agent
  if [ "$AGENT_API_LIMITS" = stack ]; then
    echo "$AGENT_CONFIG_DIR"
    return
  fi
  rm -rf "$NODE_DIR/agent-config"
  cp -r "$AGENT_CONFIG_DIR" "$NODE_DIR/agent-config"
  rm -f "$NODE_DIR/agent-config/api-rate-limit"
  echo "$NODE_DIR/agent-config"
}

start_agent() {
  local cg2 cgdir="" extra=() v6=() confdir
  cg2=$(cgroup2_root)
  if [ -n "$cg2" ]; then
    cgdir=$cg2/$CG_AGENT
    mkdir -p "$cgdir"
  else
    log "WARNING: no cgroup2 hierarchy found; the agent sees the whole cgroup tree"
  fi
  cp -r "$CILIUM_DIR/lib/bpf" "$NODE_DIR/lib/bpf"
  read -ra extra <<<"$AGENT_ARGS"
  mapfile -t v6 < <(agent_ipv6_args)
  extra=("${v6[@]}" "${extra[@]}")
  confdir=$(agent_config_dir)
  # Node name: hostname by default, the same for every node here; K8S_NODE_NAME is only a name while
  # enable-k8s=false (pkg/k8s/client IsEnabled checks EnableK8s first).
  local argv=(env "PATH=$LLVM_BIN:$PATH" "K8S_NODE_NAME=$NODE_NS" "$SELF" _agent "$cgdir" "$NODE_DIR/cgroup2"
    "$CILIUM_DIR/bin/cilium-agent"
    --config-dir="$confdir"
    --ipv4-node="$NODE_IP" --ipv4-range="$POD_RANGE" --devices=eth0
    --kvstore-opt=etcd.address="$ETCD_URL"
    --lib-dir="$NODE_DIR/lib" --state-dir=/var/run/cilium --bpf-root=/sys/fs/bpf
    --cgroup-root="$NODE_DIR/cgroup2" --static-cnp-path="$NODE_DIR/policies"
    "${extra[@]}")
  launch_recorded agent "${argv[@]}"
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

replace_agent() { # VERSION DIR: stop the agent by PID, start DIR's agent with the same state dir and flags
  local version=$1 dir=$2 old argv=() i t0
  old=$(node_env CILIUM_DIR)
  [ -f "$NODE_DIR/agent.argv" ] || die "node $NODE has no recorded agent command"
  mapfile -d '' argv <"$NODE_DIR/agent.argv"
  for i in "${!argv[@]}"; do
    if [ "${argv[$i]}" = "$old/bin/cilium-agent" ]; then argv[i]=$dir/bin/cilium-agent; fi
  done
  printf '%s\n' "${argv[@]}" | grep -qxF "$dir/bin/cilium-agent" ||
    die "recorded agent command of node $NODE does not run $old/bin/cilium-agent"
  t0=$(now)
  stop_recorded agent
  # The agent compiles its datapath from --lib-dir: the sources must be the new version's.
  rm -rf "$NODE_DIR/lib/bpf"
  cp -r "$dir/lib/bpf" "$NODE_DIR/lib/bpf"
  printf '%s\0' "${argv[@]}" >"$NODE_DIR/agent.argv"
  CILIUM_DIR=$dir
  write_cilium_cli
  set_node_env CILIUM_VERSION "$version"
  set_node_env CILIUM_DIR "$dir"
  set_node_env CILIUM_DBG "$dir/bin/cilium-dbg"
  echo "==== testbed: agent replaced by cilium $version at $(date -Is) ====" >>"$NODE_DIR/agent.log"
  launch agent "${argv[@]}"
  wait_healthy agent
  log "cilium-agent[n$NODE] replaced by $version in $(elapsed "$t0")s"
}
