#!/usr/bin/env bash
# Builds cilium-agent, cilium-dbg (the `cilium` CLI) and, on the 1.19 line, the upstream cilium-docker
# plugin (for side-by-side benchmarks; 1.20 removed it) from the pinned Go module, plus the agent's
# bpf/ sources, into a cache directory outside the repo, keyed by version. Skips the build when the
# cached binaries match the version.
#
# Usage: build-cilium.sh [VERSION]   (default: $CILIUM_VERSION, else the matrix's current agent,
#        internal/matrix: `go run ./cmd/testbed version cilium`)
# Prints the cache directory on its last line. Cold: ~10 minutes on 2 cores (the agent dominates).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
CILIUM_VERSION=${1:-${CILIUM_VERSION:-$(go -C "$REPO_DIR" run ./cmd/testbed version cilium)}}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
OUT="$CACHE_ROOT/cilium-v$CILIUM_VERSION"
STAMP="$OUT/.built"

log() { echo "build-cilium: $*" >&2; }

cached() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$CILIUM_VERSION" ] &&
    [ -x "$OUT/bin/cilium-agent" ] && [ -x "$OUT/bin/cilium-dbg" ] && [ -d "$OUT/lib/bpf" ]
}
# Cached: no lock (the stamp is written last), so a build of another version does not hold this up.
if cached; then
  log "cached v$CILIUM_VERSION in $OUT"
  echo "$OUT"
  exit 0
fi

# One build at a time: a concurrent caller waits here, then finds the cache ready.
mkdir -p "$CACHE_ROOT"
exec 8>"$CACHE_ROOT/.build.lock"
if ! flock -n 8; then
  log "another build holds $CACHE_ROOT/.build.lock, waiting"
  flock 8
fi

if cached; then
  log "cached v$CILIUM_VERSION in $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { log "go is required (>= 1.25)"; exit 1; }
export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOWORK=off
start=$(date +%s)
mkdir -p "$OUT"
log "building cilium v$CILIUM_VERSION into $OUT"
log "cold this takes about 15 minutes on 2 cores (module download 1-2 min, agent ~15 min); progress every 60 s"

log "downloading module github.com/cilium/cilium@v$CILIUM_VERSION"
dir=$(cd "$OUT" && go mod download -json "github.com/cilium/cilium@v$CILIUM_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$dir" ] || { log "module download failed"; exit 1; }

src="$OUT/src"
rm -rf "$src" "${OUT:?}/bin" "${OUT:?}/lib" "$STAMP"
cp -r "$dir" "$src"
chmod -R u+w "$src"
case "$CILIUM_VERSION" in
  1.20.*)
    # v1.20.2 pins a gobgp/v4 pseudo-version the module proxy does not serve; tag v4.7.0 contains that
    # commit (the 4 commits between touch BFD code only, which Cilium does not use).
    log "raising github.com/osrg/gobgp/v4 to v4.7.0 in the module copy"
    # `go get` would load the whole graph, tools included, and fail on a replaced module the proxy
    # does not serve (cilium/controller-tools); -mod=mod records only what the build needs in go.sum.
    (cd "$src" && go mod edit -require=github.com/osrg/gobgp/v4@v4.7.0)
    GOFLAGS="$GOFLAGS -mod=mod"
    ;;
esac
mkdir -p "$OUT/bin" "$OUT/lib"

ld="-s -w -X github.com/cilium/cilium/pkg/version.ciliumVersion=$CILIUM_VERSION"
build() { # name pkg
  local t0; t0=$(date +%s)
  log "go build $2 -> bin/$1"
  (cd "$src" && go build -trimpath -tags osusergo -ldflags "$ld" -o "$OUT/bin/$1.tmp" "$2") &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && log "  ... $1 still building, $(( $(date +%s) - t0 ))s"
  done
  wait "$pid"
  mv "$OUT/bin/$1.tmp" "$OUT/bin/$1"
  log "  $1 built in $(( $(date +%s) - t0 ))s"
}
build cilium-dbg ./cilium-dbg
build cilium-agent ./daemon
[ -d "$src/plugins/cilium-docker" ] && build cilium-docker-upstream ./plugins/cilium-docker
cp -r "$src/bpf" "$OUT/lib/bpf"
rm -rf "$src"
echo "$CILIUM_VERSION" >"$STAMP"
log "done in $(( $(date +%s) - start ))s"
echo "$OUT"
