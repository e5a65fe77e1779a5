#!/usr/bin/env bash
# The end-to-end tier (make test-e2e; scripts/test.sh calls it): the e2e suite once per leg of the test
# matrix, each leg on a fresh test bed whose nodes run that leg's Docker engine and cilium-agent. Builds
# what a leg needs into the cache (scripts/build-cilium.sh, scripts/build-docker.sh; no-ops when
# cached): the first leg's engine and agent before it starts, the others' at the lowest CPU priority
# beside the first leg, whose tests mostly wait on daemons (cold, that hides one agent's build). Then
# prints a summary: leg, tests passed/failed/skipped, seconds.
#
# Usage: scripts/e2e.sh [--build] [LEG...]   (default: $E2E_LEGS, else every leg below, in this order;
#        --build: only build what the legs need, then exit; scripts/test.sh starts it at nice 19 first)
#   docker29.8.1-cilium1.20.2   full suite (the current pair)
#   docker20.10-cilium1.19.7    full suite (Debian's docker.io), the compose stack and its agent upgrade
#                               1.19.7 -> 1.20.2 included (TestAgentUpgrade runs on the next leg only)
#   docker29.8.1-cilium1.19.7   the single-node walkthrough, the policy identity labels, the fake-agent contract, names,
#                               -p publishing, status, flows,
#                               the restart tests and the agent upgrade
#                               1.19.7 -> 1.20.2 in place, bed and compose (TestAgentUpgrade runs on this leg only)
#   docker20.10-cilium1.20.2    the walkthrough on Debian's docker.io with the current agent: single node, policy
#                               identity labels, names, -p and the node's loopback, status, flows
# Each leg then checks that exactly the tests it expects passed, by name (a renamed or skipped test
# fails the leg): every test of e2e/ for a full leg (less the upgrades leg_filter leaves out and the
# address-window test), the names of its pattern for a subset leg.
# Environment: E2E_RUN overrides the leg's -run pattern (and leaves the 11-minute address-window test out); E2E_TIMEOUT go test -timeout (default 45m);
#   E2E_LOG_DIR keeps each leg's go test -v output (default /tmp/cilium-docker-e2e); PLUGIN_BIN as
#   scripts/testbed.sh (default bin/cilium-docker, built when missing); E2E_FAIL_FAST=1 stops at the
#   first failing leg (one leg after the other only); E2E_PARALLEL=1 runs the legs side by side, leg i on bed
#   TESTBED_ID=<id>l<i>, their output printed after all ended (faster, but on 2 cores the load makes the
#   100-container burst miss the endpoint-create deadline: not the default). Runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "e2e: run as root (the test bed creates network namespaces)" >&2; exit 1; }
export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}

ALL_LEGS=(docker29.8.1-cilium1.20.2 docker20.10-cilium1.19.7 docker29.8.1-cilium1.19.7 docker20.10-cilium1.20.2)
UPGRADE_TO=1.20.2
SUBSET='^(TestSingleNode|TestPolicyIdentityLabels|TestFakeAgentContract|TestContainerNames|TestPublish|TestAgentRestartKeepsAddresses|TestPluginRestart|TestAgentDownFailsFast|TestLabelsAppliedLater|TestAgentUpgrade|TestComposeStackAgentUpgrade|TestStatus|TestFlows)$'
WALKTHROUGH='^(TestSingleNode|TestPolicyIdentityLabels|TestContainerNames|TestPublish|TestNoPathToTheNodesLoopback|TestStatus|TestFlows)$'
LOG_DIR=${E2E_LOG_DIR:-/tmp/cilium-docker-e2e}
# The one test that must outlast the agent's 10-minute address timer runs on a bed of its own
# (TESTBED_ID=aw), alongside the legs, on the current pair; E2E_LONG=0 leaves it out.
LONG_TEST=TestAddressWindowAcrossPluginRestart
LONG_LEG=docker29.8.1-cilium1.20.2

build_only=0
if [ "${1:-}" = --build ]; then build_only=1; shift; fi
if [ $# -gt 0 ]; then legs=("$@")
elif [ -n "${E2E_LEGS:-}" ]; then read -ra legs <<<"$E2E_LEGS"
else legs=("${ALL_LEGS[@]}"); fi

log() { printf '\n=== e2e: %s\n' "$*"; }

leg_filter() { # LEG: go test's -run/-skip for the leg
  if [ -n "${E2E_RUN:-}" ]; then echo "-run=$E2E_RUN"; return; fi
  case "$1" in
    docker29.8.1-cilium1.19.7) echo "-run=$SUBSET" ;;
    docker20.10-cilium1.20.2) echo "-run=$WALKTHROUGH" ;;
    # Debian's engine runs the compose stack too (its agent is not privileged: compose/README.md, "The
    # agent's container"), and the stack's agent upgrade from this leg's 1.19.7 (97.8 s when added; the bed
    # agent's TestAgentUpgrade stays on the 29.8.1 upgrade leg).
    docker20.10-cilium1.19.7) echo "-skip=^(TestAgentUpgrade|$LONG_TEST)\$" ;;
    *) echo "-skip=^(TestAgentUpgrade|TestComposeStackAgentUpgrade|$LONG_TEST)\$" ;;
  esac
}

leg_upgrades() { # LEG: true when the leg upgrades its agent to UPGRADE_TO (its filter keeps the stack's upgrade)
  case "$(leg_filter "$1")" in
    -run=*TestComposeStackAgentUpgrade*) return 0 ;;
    -skip=*TestComposeStackAgentUpgrade*) return 1 ;;
    -skip=*) return 0 ;;
  esac
  return 1
}

build_leg() { # LEG [PREFIX...]: the engine and agents it needs (PREFIX: e.g. nice -n 19)
  local leg=$1 docker=${1#docker} cilium
  shift
  docker=${docker%%-cilium*}
  cilium=${leg##*-cilium}
  "$@" scripts/build-cilium.sh "$cilium" >/dev/null || return
  "$@" scripts/build-etcd.sh >/dev/null || return
  "$@" scripts/build-compose.sh >/dev/null || return   # `docker compose` for TestComposeStack
  case "$docker" in 20.10|20.10.*) ;; *) "$@" scripts/build-docker.sh "$docker" >/dev/null || return ;; esac
  if leg_upgrades "$leg"; then "$@" scripts/build-cilium.sh "$UPGRADE_TO" >/dev/null || return; fi
}

for leg in "${legs[@]}"; do
  [[ "$leg" =~ ^docker[0-9.]+-cilium[0-9.]+$ ]] || { echo "e2e: bad leg '$leg' (e.g. ${ALL_LEGS[0]})" >&2; exit 2; }
done
if [ "$build_only" = 1 ]; then
  # The long test's pair first: the first leg and the long test need it.
  if [ "${E2E_LONG:-1}" != 0 ] && [ -z "${E2E_RUN:-}" ]; then build_leg "$LONG_LEG"; fi
  for leg in "${legs[@]}"; do build_leg "$leg"; done
  exit 0
fi
[ -n "${PLUGIN_BIN:-}" ] || make build   # the binary under test is always this checkout's
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/*.rc
summary=() failed=0
long=0 long_pid='' build_pid=''
if [ "${E2E_LONG:-1}" != 0 ] && [ -z "${E2E_RUN:-}" ]; then long=1; fi
LONG_RC=$LOG_DIR/$LONG_TEST.rc
PARALLEL=${E2E_PARALLEL:-0}
[ "${#legs[@]}" -gt 1 ] || PARALLEL=0
BASE_ID=${TESTBED_ID:-}
leg_id() { # INDEX: the leg's bed (TESTBED_ID) when the legs run side by side, else the caller's
  if [ "$PARALLEL" = 1 ]; then echo "${BASE_ID:0:5}l$1"; else echo "$BASE_ID"; fi
}
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local i
  # A background build still running when this exits early: stop it (it leaves no stamp, so no cache).
  if [ -n "$build_pid" ] && kill -0 "$build_pid" 2>/dev/null; then
    pkill -TERM -P "$build_pid" 2>/dev/null || true
    kill "$build_pid" 2>/dev/null || true
  fi
  for i in "${!legs[@]}"; do TESTBED_ID=$(leg_id "$i") scripts/testbed.sh down-all >/dev/null 2>&1 || true; done
  # The aw bed is torn down only when this run started its test: another run's may be up.
  if [ "$long" = 1 ]; then TESTBED_ID=aw scripts/testbed.sh down-all >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# start_long: the address-window test on its bed, in the background; LONG_RC gets "rc seconds".
start_long() {
  log "$LONG_TEST on its own bed (TESTBED_ID=aw, $LONG_LEG), alongside the legs (log $LOG_DIR/$LONG_TEST.log)"
  (start=$SECONDS rc=0
   TESTBED_ID=aw scripts/testbed.sh down-all >/dev/null 2>&1 || true
   TESTBED_ID=aw E2E_LEG=$LONG_LEG go test -count=1 -timeout 20m -v -run "^$LONG_TEST\$" ./e2e/ >"$LOG_DIR/$LONG_TEST.log" 2>&1 || rc=$?
   echo "$rc $((SECONDS - start))" >"$LONG_RC") &
  long_pid=$!
}

# Builds. Side by side, every leg's before any starts. Else the first leg's first; the long test's
# pair (then the test itself) and the other legs' follow in the background at nice 19, beside the
# first leg; each later leg's build_leg waits for them (the build scripts' locks) or finds them cached.
if [ "$PARALLEL" = 1 ]; then
  for leg in "${legs[@]}"; do log "leg $leg: build (cached when built)"; build_leg "$leg"; done
  if [ "$long" = 1 ]; then build_leg "$LONG_LEG"; start_long; fi
else
  log "leg ${legs[0]}: build (cached when built)"
  build_leg "${legs[0]}"
  bg_long=$long
  if [ "$long" = 1 ] && [ "${legs[0]}" = "$LONG_LEG" ]; then start_long; bg_long=0; fi
  if [ "$bg_long" = 1 ] || [ "${#legs[@]}" -gt 1 ]; then
    log "the other legs' builds at nice 19, beside the first leg (log $LOG_DIR/build.log)"
    { if [ "$bg_long" = 1 ]; then build_leg "$LONG_LEG" nice -n 19 && start_long; fi
      for leg in "${legs[@]:1}"; do build_leg "$leg" nice -n 19; done
      wait # the long test, when started here
    } 2>"$LOG_DIR/build.log" &
    build_pid=$!
  fi
fi

# run_leg INDEX: the leg's go test on its bed; writes LOG_DIR/LEG.log and LEG.rc ("rc seconds").
run_leg() {
  local leg=${legs[$1]} id out filter start rc=0
  id=$(leg_id "$1")
  out=$LOG_DIR/$leg.log
  filter=$(leg_filter "$leg")
  TESTBED_ID=$id scripts/testbed.sh down-all >/dev/null 2>&1 || true
  log "leg $leg: go test -v $filter ./e2e/ on bed '${id:-default}' (log $out)"
  start=$SECONDS
  if [ "$PARALLEL" = 1 ]; then
    TESTBED_ID=$id E2E_LEG=$leg E2E_UPGRADE_TO=$UPGRADE_TO go test -count=1 -timeout "${E2E_TIMEOUT:-45m}" -v "$filter" ./e2e/ \
      >"$out" 2>&1 || rc=$?
  else
    TESTBED_ID=$id E2E_LEG=$leg E2E_UPGRADE_TO=$UPGRADE_TO go test -count=1 -timeout "${E2E_TIMEOUT:-45m}" -v "$filter" ./e2e/ 2>&1 |
      tee "$out" || rc=$?
  fi
  echo "$rc $((SECONDS - start))" >"$LOG_DIR/$leg.rc"
  TESTBED_ID=$id scripts/testbed.sh down-all >/dev/null 2>&1 || true
}

if [ "$PARALLEL" = 1 ]; then
  # The legs wait on daemons more than they compute: side by side, each on a bed of its own.
  log "legs side by side (E2E_PARALLEL=1): ${legs[*]}"
  pids=()
  for i in "${!legs[@]}"; do run_leg "$i" & pids+=("$!"); done
  for p in "${pids[@]}"; do wait "$p" || true; done
  for leg in "${legs[@]}"; do log "leg $leg: go test output"; cat "$LOG_DIR/$leg.log"; done
else
  for i in "${!legs[@]}"; do
    if [ "$i" -gt 0 ]; then
      log "leg ${legs[$i]}: build (waits for the background build, or cached)"
      if ! build_leg "${legs[$i]}"; then
        echo "build of leg ${legs[$i]} failed" >"$LOG_DIR/${legs[$i]}.log"
        echo "build 0" >"$LOG_DIR/${legs[$i]}.rc"
        if [ "${E2E_FAIL_FAST:-0}" = 1 ]; then break; fi
        continue
      fi
    fi
    run_leg "$i"
    read -r rc _ <"$LOG_DIR/${legs[$i]}.rc"
    if [ "$rc" != 0 ] && [ "${E2E_FAIL_FAST:-0}" = 1 ]; then break; fi
  done
fi
# expected_tests LEG: the top-level tests the leg must pass, one a line, sorted; nothing for an ad-hoc
# E2E_RUN. A subset leg's are the names of its pattern; a full leg's every test of e2e/ less those its
# -skip leaves out.
expected_tests() {
  [ -z "${E2E_RUN:-}" ] || return 0
  local filter names
  filter=$(leg_filter "$1")
  case "$filter" in
    -run=*) names=${filter#-run=^(}; names=${names%)\$}; tr '|' '\n' <<<"$names" ;;
    -skip=*)
      names=${filter#-skip=^(}; names=${names%)\$}
      sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing\.T).*/\1/p' e2e/*_test.go | grep -vxF -f <(tr '|' '\n' <<<"$names") ;;
  esac | sort -u
}

for leg in "${legs[@]}"; do
  out=$LOG_DIR/$leg.log
  [ -f "$LOG_DIR/$leg.rc" ] || continue
  read -r rc secs <"$LOG_DIR/$leg.rc"
  pass=$(grep -cE '^--- PASS' "$out" || true)
  fail=$(grep -cE '^--- FAIL' "$out" || true)
  skip=$(grep -cE '^--- SKIP' "$out" || true)
  if [ "$rc" = build ]; then fail="0 (its build failed, above)"
  elif [ "$rc" != 0 ] && [ "$fail" = 0 ]; then fail="$fail (go test rc $rc)"; fi
  want=$(expected_tests "$leg")
  if [ -n "$want" ] && [ "$rc" != build ]; then
    passed=$(sed -n 's/^--- PASS: \(Test[A-Za-z0-9_]*\) .*/\1/p' "$out" | sort -u)
    missing=$(comm -23 <(echo "$want") <(echo "$passed") | tr '\n' ' ')
    extra=$(comm -13 <(echo "$want") <(echo "$passed") | tr '\n' ' ')
    if [ -n "$missing$extra" ]; then
      rc=count
      fail="$fail (of $(wc -l <<<"$want") expected)"
      [ -z "$missing" ] || summary+=("    $leg: expected to pass, did not: $missing")
      [ -z "$extra" ] || summary+=("    $leg: passed, not expected (a renamed test?): $extra")
    fi
  fi
  summary+=("$(printf '%-28s pass %3s  fail %3s  skip %3s  %5ss' "$leg" "$pass" "$fail" "$skip" "$secs")")
  if [ "$rc" != 0 ]; then
    failed=1
    while read -r line; do summary+=("    $leg: $line"); done < <(grep -E '^\s*--- FAIL' "$out" || true)
  fi
done

if [ -n "$long_pid" ]; then wait "$long_pid" || true; fi
if [ -n "$build_pid" ]; then wait "$build_pid" || true; fi
if [ "$long" = 1 ]; then
  out=$LOG_DIR/$LONG_TEST.log
  if [ -f "$LONG_RC" ]; then
    read -r rc secs <"$LONG_RC"
    pass=$(grep -cE '^--- PASS' "$out" || true)
    fail=$(grep -cE '^--- FAIL' "$out" || true)
  else # its pair's background build failed: it never started
    rc=1 secs=0 pass=0 fail="0 (not started: see $LOG_DIR/build.log)"
    tail -20 "$LOG_DIR/build.log"
  fi
  if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then fail="$fail (go test rc $rc)"; fi
  summary+=("$(printf '%-28s pass %3s  fail %3s  skip %3s  %5ss' "$LONG_LEG (aw)" "$pass" "$fail" 0 "$secs")")
  if [ "$rc" != 0 ]; then failed=1; summary+=("    $LONG_LEG (aw): $LONG_TEST failed, see $out"); [ ! -f "$out" ] || tail -40 "$out"; fi
fi

log "summary (logs in $LOG_DIR)"
printf '%s\n' "${summary[@]}"
exit "$failed"
