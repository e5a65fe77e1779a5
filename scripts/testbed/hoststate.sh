# shellcheck shell=bash
# Test bed, host state: what the bed changes outside its namespaces is recorded at the first `up` and
# restored at the last `down` (global sysctls the agent may change, empty host mount points it creates),
# and the node's cgroups are removed when the node goes down.

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
    if other_beds_up; then
      log "another test bed is up: host mount points left in place"
      return 0
    fi
    tac "$TESTBED_DIR/host.dirs" | while read -r d; do rmdir "$d" 2>/dev/null || log "left non-empty $d"; done
    rm -f "$TESTBED_DIR/host.dirs"
  fi
}

other_beds_up() { # another TESTBED_ID's node netns exists (they share the host mount points)
  local d
  for d in /run/netns/*cdnode[1-9]; do
    [ -e "$d" ] || continue
    [[ "${d#/run/netns/}" =~ ^${NS_PREFIX}cdnode[1-9]$ ]] || return 0
  done
  return 1
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
