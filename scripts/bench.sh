#!/usr/bin/env bash
# Benchmarks, side by side (not part of make test): this plugin, the upstream cilium-docker plugin (built
# beside the agent, scripts/build-cilium.sh) and the default bridge, each measure interleaved in one run,
# on two single-node test beds with the same engine and agent (the upstream plugin needs Cilium 1.19's
# legacy endpoint IDs). `make bench-upstream`. Writes BENCHMARKS.md (BENCH_OUT to write elsewhere; the at-scale
# section of `make bench`, cmd/bench, is kept) with ratios, the machine and
# the versions, and where each goal of issue 11 stands.
#
# Usage: scripts/bench.sh        As root. Environment:
#   TESTBED_ID     this plugin's bed (default bench); BENCH_UP_ID the upstream plugin's bed (default <id>up)
#   DOCKER_VERSION (default Debian's 20.10) CILIUM_VERSION (default the previous agent, 1.19: the upstream
#                  plugin's; both from internal/matrix), as scripts/testbed.sh, for both beds
#   BENCH_RUNS     interleaved rounds of `docker run --rm` and of `docker run -d` (default 21)
#   BENCH_BURSTS   burst sizes (default "20 50"); BENCH_DENSITY endpoints for the density and RSS row (200)
#   BENCH_DENSITY_RUNS `run --rm` samples at 10 and at BENCH_DENSITY endpoints (default 11)
#   BENCH_CHURN    create/destroy cycles of this plugin's churn (default 200; 0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (the test bed creates network namespaces)" >&2; exit 1; }
export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}
DOCKER_VERSION=${DOCKER_VERSION:-$(go run ./cmd/testbed version docker-debian)}
CILIUM_VERSION=${CILIUM_VERSION:-$(go run ./cmd/testbed version cilium-previous)}
export DOCKER_VERSION CILIUM_VERSION
OURS_ID=${TESTBED_ID:-bench}
UP_ID=${BENCH_UP_ID:-${OURS_ID}up}
RUNS=${BENCH_RUNS:-21}
read -ra BURSTS <<<"${BENCH_BURSTS:-20 50}"
DENSITY=${BENCH_DENSITY:-200}
DENSITY_RUNS=${BENCH_DENSITY_RUNS:-11}
CHURN=${BENCH_CHURN:-200}
OUT=${BENCH_OUT:-BENCHMARKS.md}
# The at-scale section of `make bench` (cmd/bench) in $OUT, kept as it is below this side by side.
KEEP=$(sed -n '/^<!-- begin: make bench, cmd\/bench -->$/,/^<!-- end: make bench, cmd\/bench -->$/p' "$OUT" 2>/dev/null || true)
IMAGE=cdbusybox:latest
LANES=4
TMP=$(mktemp -d /tmp/cdbench.XXXXXX)
SIDES=(ours up bridge)

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# bed SIDE ARGS: testbed.sh on the side's bed (the bridge runs on this plugin's dockerd)
bed() {
  local side=$1
  shift
  case "$side" in
    up) TESTBED_ID=$UP_ID PLUGIN_BIN=$UPSTREAM_BIN PLUGIN_METRICS_ADDRESS='' PLUGIN_RECONCILE_INTERVAL='' PLUGIN_POLICY_SYNC='' scripts/testbed.sh "$@" ;;
    *) TESTBED_ID=$OURS_ID scripts/testbed.sh "$@" ;;
  esac
}
node() { local side=$1; shift; bed "$side" exec 1 "$@"; }
net_of() { case "$1" in bridge) echo bridge ;; *) echo cilium-net ;; esac; }
dk() { local side=$1; shift; node "$side" docker "$@"; }
agent_sock() { bed "$1" env 1 | sed -n 's/^CILIUM_SOCK=//p'; }

# pct P: the P-th percentile (nearest rank) of the numbers on stdin
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print v[i] }'; }
secs() { awk '{ printf "%.2f", $1 }'; }
ms() { awk '{ if ($1 == "n/a") print "n/a"; else printf "%.1f", $1 * 1000 }'; }

plugin_rss_mib() { # SIDE: the plugin's resident memory
  local pid
  pid=$(bed "$1" pid 1 plugin)
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"
}
sync_rss_mib() { # this plugin's policy sync child (cilium-docker-policy sync), "none" without one
  local pid child
  pid=$(bed ours pid 1 plugin)
  child=$(pgrep -P "$pid" -f 'cilium-docker-policy' | head -1 || true)
  if [ -z "$child" ]; then echo none; return; fi
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$child/status"
}

# attach_sums: this plugin's seconds so far in the attach handlers, in their agent calls and in their
# Docker calls (from /metrics: RequestAddress, CreateEndpoint, Join and the calls only they make).
attach_sums() {
  node ours curl -sf --max-time 5 http://127.0.0.1:9962/metrics | awk '
    /^cilium_docker_plugin_call_duration_seconds_sum\{method="(IpamDriver.RequestAddress|NetworkDriver.CreateEndpoint|NetworkDriver.Join)"\}/ { p += $NF }
    /^cilium_docker_agent_call_duration_seconds_sum\{call="(allocate [a-z0-9]+ address|claim address|get config|list cluster nodes|create endpoint)"\}/ { a += $NF }
    /^cilium_docker_docker_call_duration_seconds_sum\{call="(joining container|inspect network)"\}/ { d += $NF }
    END { printf "%.6f %.6f %.6f\n", p, a, d }'
}

# in_node SIDE T0FILE DOCKER-ARGS...: `docker DOCKER-ARGS` in the side's node, the instant just before the CLI
# starts (bash's $EPOCHREALTIME, in the node) written to T0FILE: the bed's exec wrapper is not docker's time.
in_node() {
  local side=$1 t0file=$2
  shift 2
  # shellcheck disable=SC2016  # expanded by the node's shell
  node "$side" bash -c 'echo "$EPOCHREALTIME" >"$1"; shift; exec docker "$@"' in_node "$t0file" "$@"
}

# rotation ROUND: the sides in the round's order, rotated by one each round, so that no side always runs
# just after another: a plugin's work left over from its run (upstream relabels and rebuilds its endpoint
# about 0.5 s after the start) slows whichever run comes next on the two beds' shared cores.
rotation() { local i k=$(( ($1 - 1) % ${#SIDES[@]} )); for i in "${!SIDES[@]}"; do echo "${SIDES[(i + k) % ${#SIDES[@]}]}"; done; }

# run_rm SIDE: seconds of one `docker run --rm … true`, from the CLI's start to its exit, timed in the node
run_rm() {
  # shellcheck disable=SC2016  # expanded by the node's shell
  node "$1" bash -c 's=$EPOCHREALTIME; docker "$@" >/dev/null || exit; echo "$s $EPOCHREALTIME"' run_rm \
    run --rm --pull never --net "$(net_of "$1")" "$IMAGE" true | { read -r a b; sub "$a" "$b"; }
}

# monitor_start SIDE: follows the side's agent events (`cilium monitor -t agent`), each line stamped on arrival
# with $EPOCHREALTIME into $TMP/mon.SIDE; waits until the monitor listens. MON[SIDE] is its PID.
declare -A MON
monitor_start() {
  local side=$1
  node "$side" cilium monitor -t agent > >(while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done >"$TMP/mon.$side") 2>&1 &
  MON[$side]=$!
  for _ in $(seq 100); do grep -q 'Listening for events' "$TMP/mon.$side" 2>/dev/null && return; sleep 0.1; done
  log "$side: the agent monitor did not start"; exit 1
}
monitor_stop() { local side=$1; kill "${MON[$side]}" 2>/dev/null || true; wait "${MON[$side]}" 2>/dev/null || true; }

# regenerated SIDE NAME: the instant the agent reported the endpoint of the container labelled bench=NAME
# regenerated (built) under that label, the endpoint turning ready; waits up to 5 s for the line
regenerated() {
  local t
  for _ in $(seq 50); do
    t=$(grep -F 'Endpoint regenerated:' "$TMP/mon.$1" | grep -F "\"container:bench=$2\"" | head -1 | cut -d' ' -f1)
    if [ -n "$t" ]; then echo "$t"; return; fi
    sleep 0.1
  done
}

# run_ready SIDE NAME: `docker run -d` with a label of its own; prints "returned ready polled" in seconds after
# the run started (in the node): ready = the agent's event that it built the endpoint under that label;
# polled = the agent's endpoint list first showed it ready under it (bridge: no endpoint, neither).
run_ready() {
  local side=$1 name=$2 t0 tstart tret tready="" tpolled="" sock eps
  sock=$(agent_sock "$side")
  tstart=$(now)
  (in_node "$side" "$TMP/$name.t0" run -d --pull never --init --name "$name" -l "bench=$name" --net "$(net_of "$side")" "$IMAGE" sleep 100000 >/dev/null
   now >"$TMP/$name.ret") &
  if [ "$side" != bridge ]; then
    while :; do
      # Endpoint lists are rate-limited by the agent (10/s): a 429 is simply asked again.
      eps=$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/v1/endpoint 2>/dev/null |
            jq -r --arg l "container:bench=$name" '.[]? | select((.status.identity.labels // []) | index($l)) | select(.status.state == "ready") | .id' 2>/dev/null || true)
      if [ -n "$eps" ]; then tpolled=$(now); break; fi
      if [ "$(sub "$tstart" "$(now)" | cut -d. -f1)" -ge 30 ]; then break; fi
      sleep 0.01
    done
    [ -z "$tpolled" ] || tready=$(regenerated "$side" "$name")
  fi
  wait
  t0=$(cat "$TMP/$name.t0")
  tret=$(cat "$TMP/$name.ret")
  echo "$(sub "$t0" "$tret") ${tready:+$(sub "$t0" "$tready")} ${tpolled:+$(sub "$t0" "$tpolled")}"
}

# first_packet SIDE NAME TARGET: a new container pings TARGET every 10 ms from its first instant; prints
# how many of the first pings were lost before one came back (0: none).
first_packet() {
  dk "$1" run --rm --pull never --name "$2" -l "bench=$2" --net "$(net_of "$1")" "$IMAGE" \
    ping -c 150 -i 0.01 -W 2 "$3" 2>/dev/null | awk -F'seq=' '/seq=/ { split($2, a, " "); print a[1]; exit }'
}

burst() { # SIDE N: prints "wall_seconds failures"
  local side=$1 n=$2 t0 fails
  t0=$(now)
  fails=$(for i in $(seq 1 "$n"); do
    (dk "$side" run -d --pull never --init --name "b$i" -l app=bench --net "$(net_of "$side")" "$IMAGE" sleep 100000 \
       >/dev/null 2>&1 || echo fail) &
  done | grep -c fail || true)
  wait
  echo "$(sub "$t0" "$(now)") $fails"
  # shellcheck disable=SC2046  # one name per word
  dk "$side" rm -f $(seq -f 'b%g' 1 "$n") >/dev/null 2>&1 || true
}

fill() { # SIDE FROM TO: sleeping containers dFROM…dTO on the side's network, in lanes
  local side=$1 from=$2 n=$3 lane
  for lane in $(seq 0 $((LANES - 1))); do
    (for i in $(seq $((from + lane)) "$LANES" "$n"); do
       dk "$side" run -d --pull never --init --name "d$i" -l app=density --net "$(net_of "$side")" "$IMAGE" sleep 100000 \
         >/dev/null 2>&1 || log "$side: density container d$i failed"
     done) &
  done
  wait
}
unfill() { # SIDE N
  local side=$1 n=$2 lane
  for lane in $(seq 0 $((LANES - 1))); do
    # shellcheck disable=SC2046  # one name per word
    (dk "$side" rm -f $(seq -f 'd%g' $((lane + 1)) "$LANES" "$n") >/dev/null 2>&1 || true) &
  done
  wait
}

# socket_ms SIDE CILIUM_API: milliseconds from exec until a second plugin process of the side listens
# on a plugin directory of its own (its agent: CILIUM_API); "> 5000" when it did not within 5 s.
socket_ms() {
  local bin=$REPO_BIN
  [ "$1" = up ] && bin=$UPSTREAM_BIN
  # shellcheck disable=SC2016  # expanded by the node's shell
  node "$1" sh -c '
    d=$(mktemp -d /tmp/cdsock.XXXXXX); t0=$(date +%s%N)
    "$0" --docker-plugins "$d" --cilium-api "$1" --docker-host-path "unix://$d/none.sock" >/dev/null 2>&1 & pid=$!
    while [ ! -S "$d/cilium.sock" ]; do
      if [ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 5000 ]; then echo "> 5000"; kill $pid; wait $pid 2>/dev/null; rm -rf "$d"; exit 0; fi
    done
    echo $(( ($(date +%s%N) - t0) / 1000000 )); kill $pid; wait $pid 2>/dev/null; rm -rf "$d"' "$bin" "$2"
}

# dockerd_log SIDE: the side's dockerd log (debug level in the bed); log_lines SIDE: its length now
dockerd_log() { echo "$(bed "$1" env 1 | sed -n 's/^NODE_DIR=//p')/dockerd.log"; }
log_lines() { wc -l <"$(dockerd_log "$1")"; }

# phases LOG FROM TO: from dockerd's debug log lines FROM..TO, each `docker run --rm` on the cilium network
# (create request to the containerd delete event): "phase ms" per run and phase (phase50 picks the p50)
phases() {
  sed -n "$2,$3p" "$1" | awk '
    function t(l,   m, a) { # seconds of the day from time="…THH:MM:SS.fffZ"
      if (!match(l, /T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?/)) return -1
      m = substr(l, RSTART + 1, RLENGTH - 1); split(m, a, ":")
      return a[1] * 3600 + a[2] * 60 + a[3]
    }
    function mark(k, l) { if (!(k in at)) at[k] = t(l) }
    function d(a, b,   v) { if (!(a in at) || !(b in at)) return; v = at[b] - at[a]; if (v < 0) v += 86400
      printf "%s_%s %.1f\n", a, b, v * 1000 }
    /containers\/create/ && /POST/ { split("", at); cil = 0; sk = ""; mark("create", $0); next }
    /on network cilium-net/ { cil = 1 }
    /Assigning addresses for endpoint/ { mark("address", $0) }
    /bundle dir created/ { mark("bundle", $0) }
    /sandbox set key processing took/ { if (match($0, /took [0-9.]+/)) { x = substr($0, RSTART + 5, RLENGTH - 5) + 0
        u = substr($0, RSTART + RLENGTH, 2); sk = (u == "ms") ? x : (u ~ /^s/) ? x * 1000 : x / 1000 } }
    /topic=\/tasks\/start/ { mark("taskstart", $0) }
    /topic=\/tasks\/exit/ { mark("exit", $0) }
    /Releasing addresses for endpoint/ && /cilium-net/ { mark("release", $0) }
    /topic=\/containers\/delete/ {
      mark("deleted", $0)
      if (cil && ("create" in at)) {
        d("create", "address"); d("address", "bundle"); d("bundle", "taskstart"); d("taskstart", "exit")
        d("exit", "release"); d("release", "deleted"); d("create", "deleted"); if (sk != "") printf "setkey %.1f\n", sk
      }
      split("", at); cil = 0
    }'
}
phase50() { awk -v k="$1" '$1 == k { print $2 }' "$2" | pct 50; } # PHASE FILE

scripts/build-cilium.sh "$CILIUM_VERSION" >/dev/null
case "$DOCKER_VERSION" in 20.10|20.10.*) ;; *) scripts/build-docker.sh "$DOCKER_VERSION" >/dev/null ;; esac
make build >/dev/null
REPO_BIN=$PWD/bin/cilium-docker
UPSTREAM_BIN=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}/cilium-v$CILIUM_VERSION/bin/cilium-docker-upstream
[ -x "$UPSTREAM_BIN" ] || { log "no upstream plugin at $UPSTREAM_BIN (scripts/build-cilium.sh builds it for 1.19)"; exit 1; }
cleanup() {
  for side in "${!MON[@]}"; do monitor_stop "$side"; done
  bed ours down-all >/dev/null 2>&1 || true
  bed up down-all >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
cleanup
mkdir -p "$TMP"
log "beds $OURS_ID (this plugin) and $UP_ID (upstream), docker $DOCKER_VERSION, cilium $CILIUM_VERSION"
engine=$(bed ours up 1 | sed -n 's/^DOCKER_ENGINE_VERSION=//p')
bed up up 1 >/dev/null
for side in ours up; do dk "$side" network create --driver cilium --ipam-driver cilium cilium-net >/dev/null; done

# Warm-up: the agent compiles the endpoint program once, on the first endpoint; that is no run's.
for side in "${SIDES[@]}"; do run_rm "$side" >/dev/null; run_rm "$side" >/dev/null; done
sleep 5
declare -A RSS_IDLE
for side in ours up; do RSS_IDLE[$side]=$(plugin_rss_mib "$side"); done
SYNC_IDLE=$(sync_rss_mib)

log "socket listening after exec"
declare -A SOCK SOCK_DOWN
for side in ours up; do
  SOCK[$side]=$(socket_ms "$side" unix:///var/run/cilium/cilium.sock)
  SOCK_DOWN[$side]=$(socket_ms "$side" unix:///var/run/cilium/none.sock)
done

log "docker run --rm: $RUNS interleaved rounds"
: >"$TMP/own"
declare -A LOG0
for side in ours up; do LOG0[$side]=$(log_lines "$side"); done
for r in $(seq 1 "$RUNS"); do
  for side in $(rotation "$r"); do
    if [ "$side" = ours ]; then read -r p0 a0 d0 <<<"$(attach_sums)"; fi
    run_rm "$side" >>"$TMP/rm.$side"
    if [ "$side" = ours ]; then
      read -r p1 a1 d1 <<<"$(attach_sums)"
      awk -v p0="$p0" -v p1="$p1" -v a0="$a0" -v a1="$a1" -v d0="$d0" -v d1="$d1" \
        'BEGIN { printf "%.6f\n", (p1 - p0) - (a1 - a0) - (d1 - d0) }' >>"$TMP/own"
    fi
  done
done

for side in ours up; do phases "$(dockerd_log "$side")" "${LOG0[$side]}" "$(log_lines "$side")" >"$TMP/phases.$side"; done

log "docker run -d and labelled readiness: $RUNS interleaved rounds"
for side in "${SIDES[@]}"; do dk "$side" run -d --pull never --init --name "target$side" --net "$(net_of "$side")" "$IMAGE" sleep 100000 >/dev/null; done
declare -A TARGET
for side in "${SIDES[@]}"; do
  TARGET[$side]=$(dk "$side" inspect -f "{{(index .NetworkSettings.Networks \"$(net_of "$side")\").IPAddress}}" "target$side")
done
for side in ours up; do monitor_start "$side"; done
for r in $(seq 1 "$RUNS"); do
  for side in $(rotation "$r"); do
    read -r ret ready polled <<<"$(run_ready "$side" "$side$r")"
    echo "$ret" >>"$TMP/d.$side"
    [ -z "${ready:-}" ] || echo "$ready" >>"$TMP/ready.$side"
    [ -z "${polled:-}" ] || echo "$polled" >>"$TMP/polled.$side"
    [ -n "${ready:-}" ] || [ "$side" = bridge ] || log "$side$r: never listed ready under its label"
    # ready before return counts as ready at return (it was, when run returned)
    [ -z "${ready:-}" ] || awk -v a="$ret" -v b="$ready" 'BEGIN { print (b <= a) ? 1 : 0 }' >>"$TMP/atret.$side"
  done
  for side in $(rotation "$r"); do
    first_packet "$side" "p$side$r" "${TARGET[$side]}" >>"$TMP/first.$side" || true
  done
done
for side in ours up; do monitor_stop "$side"; done
for side in "${SIDES[@]}"; do
  # shellcheck disable=SC2046  # one name per word
  dk "$side" rm -f "target$side" $(seq -f "$side%g" 1 "$RUNS") >/dev/null 2>&1 || true
done

declare -A BW BF
for n in "${BURSTS[@]}"; do
  log "burst of $n"
  for side in "${SIDES[@]}"; do
    read -r w f <<<"$(burst "$side" "$n")"
    BW["${side}_$n"]=$w
    BF["${side}_$n"]=$f
  done
done

log "density: $DENSITY endpoints"
# attach_run SIDE FILE: one `docker run --rm`, its seconds to FILE; for this plugin also the seconds of its
# attach handlers (RequestAddress, CreateEndpoint, Join: what dockerd waits on to attach) to FILE.attach.
attach_run() {
  local p0 p1 rest
  [ "$1" != ours ] || read -r p0 rest <<<"$(attach_sums)"
  run_rm "$1" >>"$2"
  if [ "$1" = ours ]; then
    read -r p1 rest <<<"$(attach_sums)"
    awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.6f\n", b - a }' >>"$2.attach"
  fi
}
declare -A D10 DN RSS_N
for side in ours up; do
  fill "$side" 1 10
  for _ in $(seq 1 "$DENSITY_RUNS"); do
    attach_run "$side" "$TMP/d10.$side"
    [ "$side" != ours ] || run_rm bridge >>"$TMP/d10.bridge" # the same dockerd, 10 containers on it
  done
  fill "$side" 11 "$DENSITY"
  for _ in $(seq 1 "$DENSITY_RUNS"); do
    attach_run "$side" "$TMP/dn.$side"
    [ "$side" != ours ] || run_rm bridge >>"$TMP/dn.bridge"
  done
  RSS_N[$side]=$(plugin_rss_mib "$side")
  [ "$side" != ours ] || SYNC_N=$(sync_rss_mib)
  unfill "$side" "$DENSITY"
done
for side in "${SIDES[@]}"; do
  D10[$side]=$(pct 50 <"$TMP/d10.$side")
  DN[$side]=$(pct 50 <"$TMP/dn.$side")
done
A10=$(pct 50 <"$TMP/d10.ours.attach")
AN=$(pct 50 <"$TMP/dn.ours.attach")

churn_row=""
if [ "$CHURN" -gt 0 ]; then
  log "churn: $CHURN create/destroy cycles in $LANES lanes (this plugin)"
  gauges() {
    node ours curl -sf --max-time 5 http://127.0.0.1:9962/metrics |
      awk '$1=="go_goroutines"{g=$2} $1=="process_open_fds"{f=$2} $1=="process_resident_memory_bytes"{r=$2/1048576}
           END { printf "%d %d %.1f\n", g, f, r }'
  }
  read -r g0 f0 r0 <<<"$(gauges)"
  t0=$(now)
  for lane in $(seq 0 $((LANES - 1))); do
    (for i in $(seq "$lane" "$LANES" $((CHURN - 1))); do
       dk ours run --rm --pull never --name "churn$i" -l app=churn --net cilium-net "$IMAGE" true >/dev/null 2>&1 ||
         log "churn cycle $i failed"
     done) &
  done
  wait
  churn_wall=$(sub "$t0" "$(now)")
  g1=$g0 f1=$f0 r1=$r0
  for _ in $(seq 30); do # goroutines of finished calls exit within moments
    read -r g1 f1 r1 <<<"$(gauges)"
    [ "$g1" -le $((g0 + 2)) ] && [ "$f1" -le $((f0 + 2)) ] && break
    sleep 1
  done
  leps=$(node ours cilium endpoint list -o json | jq '[.[] | select(.status.labels["security-relevant"] // [] | index("reserved:host") | not)] | length')
  churn_row="$CHURN cycles in $churn_wall s: goroutines $g0 → $g1, open fds $f0 → $f1, RSS $r0 → $r1 MiB; $leps agent endpoints left."
fi

# ---- the report
rm50() { pct 50 <"$TMP/rm.$1"; }
rm90() { pct 90 <"$TMP/rm.$1"; }
d50() { pct 50 <"$TMP/d.$1"; }
ready50() { if [ -s "$TMP/ready.$1" ]; then pct 50 <"$TMP/ready.$1"; else echo n/a; fi; }
polled50() { if [ -s "$TMP/polled.$1" ]; then pct 50 <"$TMP/polled.$1"; else echo n/a; fi; }
atret() { if [ -s "$TMP/atret.$1" ]; then awk '{ s += $1 } END { printf "%d/%d", s, NR }' "$TMP/atret.$1"; else echo n/a; fi; }
first() { # SIDE: "median lost (max), as ms" of the first pings
  if [ ! -s "$TMP/first.$1" ]; then echo "n/a"; return; fi
  echo "$(pct 50 <"$TMP/first.$1") ($(pct 100 <"$TMP/first.$1"))"
}
own50=$(pct 50 <"$TMP/own" | ms)
own99=$(pct 99 <"$TMP/own" | ms)
rm_ratio=$(ratio "$(rm50 ours)" "$(rm50 up)")
ready_ratio=$(ratio "$(ready50 ours)" "$(ready50 up)")
dens_ratio=$(ratio "$AN" "$A10")
goal() { # OK-CONDITION: met / not met
  if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "**not met**"; fi
}
lastb=${BURSTS[${#BURSTS[@]}-1]}
started() { echo "$(( $2 - ${BF[${1}_$2]} ))/$2"; } # SIDE N: "started/N" of the side's burst of N
{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d). Machine: $(nproc) cores,"
  echo "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
  echo "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end. Docker engine $engine, cilium-agent"
  echo "$CILIUM_VERSION on both beds (the upstream plugin needs 1.19's endpoint IDs). Three sides, each measure"
  echo "interleaved in one run: **ours** (this plugin), **upstream** (cilium-docker v$CILIUM_VERSION, built from the"
  echo "same Cilium module) and the **default bridge** of our bed's dockerd. Both plugins log every request (\`-D\`)."
  echo "Shared machines are noisy: read the ratios, measured in the same run, rather than the seconds."
  echo "The beds run Docker 20.10 because the upstream plugin does not work on Docker 29: every start fails"
  echo "there with \"updating gateway endpoint: failed to set IPv4 default route … no default route\" (29.8.1,"
  echo "agent 1.19.7)."
  echo
  echo "## Side by side"
  echo
  echo "| measure | ours | upstream | bridge | ours / upstream |"
  echo "|---|---|---|---|---|"
  echo "| \`docker run --rm … true\` p50 ($RUNS runs) | $(rm50 ours | secs) s | $(rm50 up | secs) s | $(rm50 bridge | secs) s | $rm_ratio |"
  echo "| \`docker run --rm … true\` p90 | $(rm90 ours | secs) s | $(rm90 up | secs) s | $(rm90 bridge | secs) s | $(ratio "$(rm90 ours)" "$(rm90 up)") |"
  echo "| \`docker run -d\` p50, until it returns | $(d50 ours | secs) s | $(d50 up | secs) s | $(d50 bridge | secs) s | $(ratio "$(d50 ours)" "$(d50 up)") |"
  echo "| run start → endpoint \`ready\` under its labels, p50 | $(ready50 ours | secs) s | $(ready50 up | secs) s | — | $ready_ratio |"
  echo "| … of those, ready when \`docker run\` returned | $(atret ours) | $(atret up) | — | |"
  echo "| … the same, as first seen ready in the agent's endpoint list (polled), p50 | $(polled50 ours | secs) s | $(polled50 up | secs) s | — | $(ratio "$(polled50 ours)" "$(polled50 up)") |"
  echo "| first pings lost by a new container (10 ms apart), median (max) | $(first ours) | $(first up) | $(first bridge) | |"
  for n in "${BURSTS[@]}"; do
    echo "| burst of $n concurrent \`run -d\`: wall (started) | ${BW[ours_$n]} s ($(started ours "$n")) | ${BW[up_$n]} s ($(started up "$n")) | ${BW[bridge_$n]} s ($(started bridge "$n")) | $(ratio "${BW[ours_$n]}" "${BW[up_$n]}") |"
  done
  echo "| plugin RSS idle | ${RSS_IDLE[ours]} MiB | ${RSS_IDLE[up]} MiB | — | $(ratio "${RSS_IDLE[ours]}" "${RSS_IDLE[up]}") |"
  echo "| plugin RSS at $DENSITY endpoints | ${RSS_N[ours]} MiB | ${RSS_N[up]} MiB | — | $(ratio "${RSS_N[ours]}" "${RSS_N[up]}") |"
  echo "| its policy sync child (\`--policy-dir\`), RSS idle / at $DENSITY endpoints | $SYNC_IDLE / $SYNC_N MiB | (no such feature) | — | |"
  echo "| \`run --rm\` p50 with 10 containers on the engine ($DENSITY_RUNS runs) | $(secs <<<"${D10[ours]}") s | $(secs <<<"${D10[up]}") s | $(secs <<<"${D10[bridge]}") s | |"
  echo "| \`run --rm\` p50 with $DENSITY containers (× with 10) | $(secs <<<"${DN[ours]}") s ($(ratio "${DN[ours]}" "${D10[ours]}")×) | $(secs <<<"${DN[up]}") s ($(ratio "${DN[up]}" "${D10[up]}")×) | $(secs <<<"${DN[bridge]}") s ($(ratio "${DN[bridge]}" "${D10[bridge]}")×) | |"
  echo "| attach (RequestAddress + CreateEndpoint + Join) p50 at 10 endpoints | $(ms <<<"$A10") ms | — | — | |"
  echo "| attach p50 at $DENSITY endpoints (× at 10) | $(ms <<<"$AN") ms (${dens_ratio}×) | — | — | |"
  echo "| socket listening after exec, agent up | ${SOCK[ours]} ms | ${SOCK[up]} ms | — | |"
  echo "| socket listening after exec, no agent | ${SOCK_DOWN[ours]} ms | ${SOCK_DOWN[up]} ms | — | |"
  echo "| plugin's own time per attach, p50 / p99 | $own50 / $own99 ms | — | — | |"
  echo
  echo "The plugin's own time per attach is, per \`docker run\` of the \`--rm\` series, the time of its"
  echo "RequestAddress, CreateEndpoint and Join handlers minus the agent and Docker calls they made"
  echo "(\`cilium_docker_plugin_call_duration_seconds\`, \`…_agent_call_duration_seconds\`,"
  echo "\`…_docker_call_duration_seconds\` sums from \`/metrics\`, read before and after each run). Runs are"
  echo "timed inside the node, from the instant before the \`docker\` CLI starts (the bed's exec wrapper, about"
  echo "20 ms, is not counted). Readiness is the agent's own event that it built the endpoint under the"
  echo "container's label (\`cilium monitor -t agent\`: \"Endpoint regenerated\" with \`container:bench=<name>\`,"
  echo "stamped on arrival); the endpoint turns \`ready\` with it. The polled row is the same moment as first"
  echo "seen in the agent's endpoint list, whose rate limit (10 reads a second, burst 20) makes it ±0.1 s."
  echo "The plugin RSS rows are the plugin process alone; with \`--policy-dir\` (on in the bed) the policy sync"
  echo "runs beside it as its child \`cilium-docker-policy sync\` (Cilium's parser and the etcd client), shown in"
  echo "its own row. Upstream has no policy sync."
  echo "Lost first pings: a new container pings a running one every 10 ms from its first instant; the"
  echo "sequence number of the first answer is how many were lost. Attach is the time dockerd waits on this"
  echo "plugin to attach a container (the three handlers' durations from \`/metrics\`, the agent's endpoint"
  echo "build included); the density rows put 10, then $DENSITY, sleeping containers on each side's network,"
  echo "and the bridge runs on this plugin's dockerd beside them, so its ratio is the engine's own growth."
  echo
  echo "## Where a \`docker run --rm\` spends its time, from dockerd's log"
  echo
  echo "The same \`--rm\` series, each phase's p50 from the debug log of each side's dockerd (Docker 20.10"
  echo "logs each step; the phases are between those log lines, in ms):"
  echo
  echo "| phase | ours | upstream |"
  echo "|---|---|---|"
  ph() { echo "| $1 | $(phase50 "$2" "$TMP/phases.ours") | $(phase50 "$2" "$TMP/phases.up") |"; }
  ph "create request → first address request (container create, start request)" create_address
  ph "address request → OCI bundle (every network driver call of the start: RequestAddress, CreateEndpoint, Join with the agent's endpoint build, ProgramExternalConnectivity)" address_bundle
  ph "OCI bundle → task started (containerd, runc create with libnetwork's setkey hook)" bundle_taskstart
  ph "… of which the setkey hook (moving the interface in, addresses, routes, the embedded DNS)" setkey
  ph "task started → exited (\`true\`)" taskstart_exit
  ph "exited → address release (Revoke, Leave with the agent's endpoint delete, DeleteEndpoint)" exit_release
  ph "address release → container deleted" release_deleted
  ph "**create request → container deleted**" create_deleted
  echo
  echo "Docker 20.10 makes every network driver call of a start before it writes the OCI bundle and creates"
  echo "the task (moby v20.10.24 \`daemon/start.go\`: \`initializeNetworking\` at line 149, \`containerd.Create\` at"
  echo "181); the setkey hook inside runc create calls no driver (libnetwork \`sandbox.go\`,"
  echo "\`populateNetworkResources\`). So the agent's endpoint build, which both plugins wait for (ours in Join,"
  echo "upstream in CreateEndpoint with \`SyncBuildEndpoint\`), is on the path of every start, and no plugin"
  echo "call comes later that could hold the container until a build begun earlier is done. The plugins"
  echo "differ only in what they do around that build."
  echo
  echo "## Goals"
  echo
  echo "| goal | now | |"
  echo "|---|---|---|"
  echo "| \`run --rm\` p50 ≤ 0.9× upstream | ${rm_ratio}× | $(goal "$rm_ratio <= 0.9") |"
  echo "| labelled-ready time ≤ 0.3× upstream's | ${ready_ratio}× | $(goal "$ready_ratio <= 0.3") |"
  echo "| plugin's own time per attach p50 ≤ 5 ms | $own50 ms | $(goal "$own50 <= 5") |"
  echo "| RSS ≤ 25 MB idle | ${RSS_IDLE[ours]} MiB | $(goal "${RSS_IDLE[ours]} * 1.048576 <= 25") |"
  echo "| RSS ≤ 40 MB at $DENSITY endpoints | ${RSS_N[ours]} MiB | $(goal "${RSS_N[ours]} * 1.048576 <= 40") |"
  echo "| attach at $DENSITY endpoints ≤ 1.2× at 10 | ${dens_ratio}× | $(goal "$dens_ratio <= 1.2") |"
  echo "| $lastb-burst 100 % success | $(started ours "$lastb") | $(goal "${BF[ours_$lastb]} == 0") |"
  if [ -n "$churn_row" ]; then
    echo
    echo "## Churn (this plugin)"
    echo
    echo "$churn_row \`make test\` runs a 100-cycle churn (\`TestChurn\`)."
  fi
  if [ -n "$KEEP" ]; then echo; echo "$KEEP"; fi
} >"$OUT"
log "wrote $OUT"
cat "$OUT"
