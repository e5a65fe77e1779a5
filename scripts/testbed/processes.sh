# shellcheck shell=bash
# Test bed, processes: every daemon is started detached inside its node with its PID recorded as
# "PID STARTTIME" in $NODE_DIR/NAME.pid (so a reused PID is never signalled) and its argv recorded
# NUL-separated in $NODE_DIR/NAME.argv (so it can be started again with the same arguments).

proc_field() { # PID FIELD: field of /proc/PID/stat counted from 1 (pid), robust to spaces in comm
  local stat rest
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${stat##*) }
  # shellcheck disable=SC2086
  set -- $rest "$2"
  local idx=$(( ${!#} - 2 ))
  echo "${!idx}"
}

record_pid() { # NAME PID
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

stop_pid() { # LABEL PID: SIGTERM (SIGCONT first: it may be frozen), wait up to STOP_TIMEOUT, then SIGKILL
  local label=$1 pid=$2 start t0
  start=$(proc_field "$pid" 22 2>/dev/null) || return 0
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || return 0
  kill -CONT "$pid" 2>/dev/null || true
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

signal_recorded() { # NAME SIGNAL: e.g. STOP/CONT (freeze, thaw) or KILL; the PID record stays
  local pid
  pid=$(recorded_pid "$1") || die "$1[n$NODE] is not running"
  kill -"$2" "$pid"
  log "sent SIG$2 to $1[n$NODE] (pid $pid)"
}

holder_pid() { recorded_pid holder; }

exec_closed() { # CMD...: exec CMD with no descriptor but the standard three. A process the bed leaves
  # running inherits none of its caller's: not the testbed lock (fd 9), nor a lock held around the
  # whole run (`flock FILE go test …` holds one, and the bed's daemons would hold it after the run), nor
  # the pipes of `go test`, which would wait for them to close. Call it in a subshell.
  local fd
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && eval "exec $fd>&-"
  done
  exec "$@"
}

launch() { # NAME CMD...: start a daemon in the node, detached, log to $NODE_DIR/NAME.log, PID recorded
  local name=$1 h pid
  shift
  h=$(holder_pid) || die "node $NODE has no mount namespace holder"
  (exec_closed nsenter --mount="/proc/$h/ns/mnt" --net="/run/netns/$NODE_NS" -- setsid "$@") \
    </dev/null >>"$NODE_DIR/$name.log" 2>&1 &
  pid=$!
  record_pid "$name" "$pid"
  log "started ${name}[n$NODE] pid $pid"
}

launch_recorded() { # NAME CMD...: launch, and record the argv for start_again
  local name=$1
  shift
  printf '%s\0' "$@" >"$NODE_DIR/$name.argv"
  launch "$name" "$@"
}

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
