#!/usr/bin/env bash
# Builds cilium-agent and cilium-dbg (the `cilium` CLI) from the pinned Go module, in one `go build`,
# plus the agent's bpf/ sources, into a cache directory outside the repo, keyed by version. With
# CILIUM_UPSTREAM_PLUGIN=1 (make bench-upstream) it also builds, on the 1.19 line, the upstream
# cilium-docker plugin (1.20 removed it); nothing else needs that one. Skips what is cached.
#
# Usage: build-cilium.sh [VERSION]   (default: $CILIUM_VERSION, else the matrix's current agent,
#        internal/matrix: `go run ./cmd/testbed version cilium`)
# Prints the cache directory on its last line. Cold: ~15 minutes on 2 cores (the agent dominates).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
CILIUM_VERSION=${1:-${CILIUM_VERSION:-$(go -C "$REPO_DIR" run ./cmd/testbed version cilium)}}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
OUT="$CACHE_ROOT/cilium-v$CILIUM_VERSION"
STAMP="$OUT/.built"

log() { echo "build-cilium: $*" >&2; }

UPSTREAM=${CILIUM_UPSTREAM_PLUGIN:-0}
agent_cached() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$CILIUM_VERSION" ] &&
    [ -x "$OUT/bin/cilium-agent" ] && [ -x "$OUT/bin/cilium-dbg" ] && [ -d "$OUT/lib/bpf" ]
}
# The upstream plugin: not asked for, built, or known absent from this version's source (.no-upstream).
upstream_cached() {
  [ "$UPSTREAM" != 1 ] || [ -x "$OUT/bin/cilium-docker-upstream" ] || [ -f "$OUT/.no-upstream" ]
}
cached() { agent_cached && upstream_cached; }
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
log "cold this takes about 15 minutes on 2 cores (module download 1-2 min, the build ~13 min); progress every 60 s"

src="$OUT/src"
rm -rf "$src"
log "downloading module github.com/cilium/cilium@v$CILIUM_VERSION"
dir=$(cd "$OUT" && go mod download -json "github.com/cilium/cilium@v$CILIUM_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$dir" ] || { log "module download failed"; exit 1; }
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

# -dwarf=false: no debug information from the compiler, which -s -w would strip at link anyway
# (containerd cold: 141 -> 136 s).
ld="-s -w -X github.com/cilium/cilium/pkg/version.ciliumVersion=$CILIUM_VERSION"
build() { # what pkg...: one go build of the packages into bin/.tmp/, named after their directories
  local what=$1 t0; shift
  t0=$(date +%s)
  rm -rf "$OUT/bin/.tmp"
  mkdir -p "$OUT/bin/.tmp"
  log "go build $* ($what)"
  (cd "$src" && go build -trimpath -tags osusergo -gcflags=all=-dwarf=false -ldflags "$ld" -o "$OUT/bin/.tmp/" "$@") &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && log "  ... $what still building, $(( $(date +%s) - t0 ))s"
  done
  wait "$pid"
  log "  $what built in $(( $(date +%s) - t0 ))s"
}
if ! agent_cached; then
  rm -rf "${OUT:?}/bin" "${OUT:?}/lib" "$STAMP" "$OUT/.no-upstream"
  mkdir -p "$OUT/bin" "$OUT/lib"
  # Both in one go build: it compiles their shared packages once and links one while compiling the other.
  build "cilium-dbg and cilium-agent" ./cilium-dbg ./daemon
  mv "$OUT/bin/.tmp/cilium-dbg" "$OUT/bin/cilium-dbg"
  mv "$OUT/bin/.tmp/daemon" "$OUT/bin/cilium-agent"
  cp -r "$src/bpf" "$OUT/lib/bpf"
  echo "$CILIUM_VERSION" >"$STAMP"
fi
if ! upstream_cached; then
  if [ -d "$src/plugins/cilium-docker" ]; then
    build "the upstream cilium-docker plugin" ./plugins/cilium-docker
    mv "$OUT/bin/.tmp/cilium-docker" "$OUT/bin/cilium-docker-upstream"
  else
    log "cilium v$CILIUM_VERSION has no upstream cilium-docker plugin"
    touch "$OUT/.no-upstream"
  fi
fi
rm -rf "$src" "$OUT/bin/.tmp"
log "done in $(( $(date +%s) - start ))s"
echo "$OUT"
