#!/usr/bin/env bash
# Benchmarks on one test-bed node (not part of make test): bursts of concurrent `docker run` on a cilium
# network against the default bridge in the same run (the baseline), and a long create/destroy churn
# with the plugin's goroutines, open fds and memory before and after (from its /metrics). Writes
# BENCHMARKS.md (BENCH_OUT to write elsewhere) with the machine, the versions and the figures.
#
# Usage: scripts/bench.sh              (env: BENCH_CHURN cycles, default 1000; BENCH_BURSTS, default
#                                       "10 50 100"; DOCKER_VERSION/CILIUM_VERSION as scripts/testbed.sh)
# Runs its own bed (TESTBED_ID=bench) so that it never meets a test run's. As root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (the test bed creates network namespaces)" >&2; exit 1; }
export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}
export TESTBED_ID=${TESTBED_ID:-bench} DOCKER_VERSION=${DOCKER_VERSION:-29.8.1} CILIUM_VERSION=${CILIUM_VERSION:-1.20.2}
CHURN=${BENCH_CHURN:-1000}
read -ra BURSTS <<<"${BENCH_BURSTS:-10 50 100}"
OUT=${BENCH_OUT:-BENCHMARKS.md}
LANES=4
IMAGE=cdbusybox:latest

log() { echo "bench: $*" >&2; }
node() { scripts/testbed.sh exec 1 "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

scripts/build-cilium.sh "$CILIUM_VERSION" >/dev/null
scripts/build-docker.sh "$DOCKER_VERSION" >/dev/null
make build >/dev/null
trap 'scripts/testbed.sh down-all >/dev/null 2>&1 || true' EXIT
scripts/testbed.sh down-all >/dev/null 2>&1 || true
env_out=$(scripts/testbed.sh up 1)
engine=$(sed -n 's/^DOCKER_ENGINE_VERSION=//p' <<<"$env_out")
node docker network create --driver cilium --ipam-driver cilium cilium-net >/dev/null

burst() { # NETWORK N: prints "wall_seconds failures"
  local net=$1 n=$2 t0 fails
  t0=$(now)
  fails=$(for i in $(seq 1 "$n"); do
    (node docker run -d --pull never --init --name "b$i" -l app=bench --net "$net" "$IMAGE" sleep 100000 \
       >/dev/null 2>&1 || echo fail) &
  done | grep -c fail || true)
  wait
  echo "$(since "$t0") $fails"
  # shellcheck disable=SC2046  # one name per word
  node docker rm -f $(seq -f 'b%g' 1 "$n") >/dev/null 2>&1 || true
}

gauges() { # prints "goroutines fds rss_mib" from the plugin's /metrics
  node curl -sf --max-time 5 http://127.0.0.1:9962/metrics |
    awk '$1=="go_goroutines"{g=$2} $1=="process_open_fds"{f=$2} $1=="process_resident_memory_bytes"{r=$2/1048576}
         END { printf "%d %d %.1f\n", g, f, r }'
}

left() { # prints "endpoints addresses links" the plugin left on the node
  local eps addrs links
  eps=$(node cilium endpoint list -o json | jq '[.[] | select(.status.labels["security-relevant"] | index("reserved:host") | not)] | length')
  addrs=$(node curl -s --unix-socket /var/run/cilium/cilium.sock http://localhost/v1/healthz |
          jq '[.ipam.allocations // {} | to_entries[] | select(.value == "cilium-docker")] | length')
  links=$(node ip -o link show | grep -cE ': (lxc[0-9a-f]{11}|tmp[0-9a-f]{11})' || true)
  echo "$eps $addrs $links"
}

# Warm-up: the agent compiles the endpoint program once, on the first endpoint; that is not a burst's.
node docker run --rm --pull never --net cilium-net "$IMAGE" true >/dev/null
node docker run --rm --pull never "$IMAGE" true >/dev/null
rows=()
for n in "${BURSTS[@]}"; do
  log "burst of $n: cilium-net, then the default bridge"
  read -r c_wall c_fail <<<"$(burst cilium-net "$n")"
  read -r b_wall b_fail <<<"$(burst bridge "$n")"
  ratio=$(awk -v a="$c_wall" -v b="$b_wall" 'BEGIN { printf "%.2f", a / b }')
  rows+=("| $n | $c_wall s ($((n - c_fail))/$n started) | $b_wall s ($((n - b_fail))/$n) | $ratio |")
done

log "churn: $CHURN create/destroy cycles in $LANES lanes"
for i in $(seq 1 $((2 * LANES))); do node docker run --rm --pull never --net cilium-net "$IMAGE" true >/dev/null; done
read -r g0 f0 r0 <<<"$(gauges)"
t0=$(now)
for lane in $(seq 0 $((LANES - 1))); do
  (for i in $(seq "$lane" "$LANES" $((CHURN - 1))); do
     node docker run --rm --pull never --name "churn$i" -l app=churn --net cilium-net "$IMAGE" true >/dev/null 2>&1 ||
       echo "cycle $i failed" >&2
   done) &
done
wait
churn_wall=$(since "$t0")
g1=$g0 f1=$f0 r1=$r0
for _ in $(seq 30); do # goroutines of finished calls exit within moments
  read -r g1 f1 r1 <<<"$(gauges)"
  [ "$g1" -le $((g0 + 2)) ] && [ "$f1" -le $((f0 + 2)) ] && break
  sleep 1
done
read -r leps laddrs llinks <<<"$(left)"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d). Machine: $(nproc) cores,"
  echo "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
  echo "kernel $(uname -r). Docker engine $engine, cilium-agent $CILIUM_VERSION, one test-bed node."
  echo "Shared machines are noisy: read the ratios, measured in the same run, rather than the seconds."
  echo
  echo "## Bursts of concurrent \`docker run -d\`"
  echo
  echo "All N started at once, as \`docker compose up --scale\` does, after one warm-up run on each network;"
  echo "the default bridge of the same dockerd is the baseline. The plugin queues endpoint creates (\`--agent-parallel-creates\`, 4) and the agent"
  echo "builds each endpoint's datapath before \`docker run\` returns, so a burst costs what the agent's"
  echo "datapath builds cost: growth with N is about linear."
  echo
  echo "| N | cilium network | default bridge | ratio |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "## Churn: $CHURN create/destroy cycles (\`docker run --rm … true\`, $LANES lanes)"
  echo
  echo "| | before | after |"
  echo "|---|---|---|"
  echo "| plugin goroutines | $g0 | $g1 |"
  echo "| plugin open fds | $f0 | $f1 |"
  echo "| plugin RSS | $r0 MiB | $r1 MiB |"
  echo
  echo "$CHURN cycles took $churn_wall s. Left on the node afterwards: $leps agent endpoints, $laddrs addresses"
  echo "owned by the plugin, $llinks plugin links. \`make test\` runs a 100-cycle churn (\`TestChurn\`)."
} >"$OUT"
log "wrote $OUT"
cat "$OUT"
