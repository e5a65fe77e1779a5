# shellcheck shell=bash
# Test bed, fabric: the bridge br0 in netns $FABRIC_NS that every node's eth0 and the "outside" peer
# ($PEER_NS, $PEER_IP, every node's default gateway) plug into, all in $NET_PREFIX.0/24.

netns_exists() { [ -e "/run/netns/$1" ]; }
link_exists() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

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

node_network() { # the node's netns, its eth0 plugged into the fabric, default route via the peer
  ip netns add "$NODE_NS"
  ip -n "$NODE_NS" link set lo up
  ip -n "$NODE_NS" link add eth0 type veth peer name "$FABRIC_PORT" netns "$FABRIC_NS"
  ip -n "$FABRIC_NS" link set "$FABRIC_PORT" master br0 up
  ip -n "$NODE_NS" addr add "$NODE_IP/24" dev eth0
  ip -n "$NODE_NS" link set eth0 up
  ip -n "$NODE_NS" route add default via "$PEER_IP"
  log "netns $NODE_NS: eth0 $NODE_IP/24 via $PEER_IP"
  [ "$AGENT_IPV6" = 1 ] || return 0
  # IPv6 mirrors IPv4: one /64 on the bridge, the peer the default gateway. nodad: usable at once.
  ip -n "$PEER_NS" addr replace "$PEER_IP6/64" dev eth0 nodad
  ip -n "$NODE_NS" addr add "$NODE_IP6/64" dev eth0 nodad
  ip -n "$NODE_NS" -6 route add default via "$PEER_IP6"
  log "netns $NODE_NS: eth0 $NODE_IP6/64 via $PEER_IP6"
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
  for d in /run/netns/"${NS_PREFIX}"cdnode[1-9]; do [ -e "$d" ] && echo "${d#/run/netns/"${NS_PREFIX}"cdnode}"; done
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
