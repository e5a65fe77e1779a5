# shellcheck shell=bash
# Test bed, agent wrapper: cilium-agent runs under it in its node (testbed.StartAgent launches
# `testbed.sh _agent CGDIR MNT AGENT ARGS...`), in its own cgroup2 subtree and cgroup namespace, with a
# private cgroup2 mount.

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
