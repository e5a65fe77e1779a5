#!/usr/bin/env bash
# Builds a Docker Engine and the runtime it needs from their Go modules into a cache directory outside
# the repo, keyed by version: dockerd and docker-proxy (moby), containerd and its runc shim, runc, and
# docker-init (tini, from Debian's tini-static). Skips the build when the cache matches.
#
# Usage: build-docker.sh [ENGINE_VERSION]   (default: $DOCKER_VERSION, else the matrix's current engine,
#        internal/matrix: `go run ./cmd/testbed version docker`; each built engine has its recipe below)
# Engine 20.10 is Debian's docker.io package and needs no build: this prints nothing to do for it.
# Prints the cache directory on its last line. Cold: ~10 minutes on 2 cores.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
DOCKER_VERSION=${1:-${DOCKER_VERSION:-$(go -C "$REPO_DIR" run ./cmd/testbed version docker)}}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
OUT="$CACHE_ROOT/docker-v$DOCKER_VERSION"
STAMP="$OUT/.built"
log() { echo "build-docker: $*" >&2; }

case "$DOCKER_VERSION" in
  20.10|20.10.*) log "engine $DOCKER_VERSION is Debian's docker.io; nothing to build"; echo "/usr"; exit 0 ;;
  29.8.1) moby=v2.0.0-beta.24 containerd=v2.3.7 runc=v1.5.3 ;;
  *) log "no recipe for engine $DOCKER_VERSION (known: 20.10.x from Debian, 29.8.1)"; exit 2 ;;
esac
want="$DOCKER_VERSION moby@$moby containerd@$containerd(no_cri) runc@$runc"

bins=(dockerd docker-proxy containerd containerd-shim-runc-v2 runc docker-init)
cached() {
  local b
  for b in "${bins[@]}"; do [ -x "$OUT/bin/$b" ] || return 1; done
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]
}
# Cached: no lock (the stamp is written last), so another build does not hold this up.
if cached; then log "cached $want in $OUT"; echo "$OUT"; exit 0; fi

mkdir -p "$CACHE_ROOT"
exec 8>"$CACHE_ROOT/.build-docker.lock"
if ! flock -n 8; then log "another build holds $CACHE_ROOT/.build-docker.lock, waiting"; flock 8; fi
if cached; then log "cached $want in $OUT"; echo "$OUT"; exit 0; fi

command -v go >/dev/null || { log "go is required"; exit 1; }
[ -f /usr/include/seccomp.h ] || { log "runc needs libseccomp-dev (scripts/install-deps.sh)"; exit 1; }
[ -x /usr/bin/tini-static ] || { log "docker-init needs tini-static (scripts/install-deps.sh)"; exit 1; }
start=$(date +%s)
rm -rf "${OUT:?}/bin" "$STAMP"
mkdir -p "$OUT/bin"
export GOBIN="$OUT/bin.tmp" GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=1
rm -rf "$GOBIN"

# -dwarf=false: no debug information from the compiler, which -s -w would strip at link anyway
# (containerd cold: 141 -> 136 s).
inst() { # tags ldflags pkg...
  local tags=$1 ld=$2; shift 2
  local t0; t0=$(date +%s)
  log "go install $*"
  go install -trimpath -tags "$tags" -gcflags=all=-dwarf=false -ldflags "$ld" "$@"
  log "  built in $(( $(date +%s) - t0 ))s"
}
inst 'netgo osusergo nri_no_wasm' "-s -w -X github.com/moby/moby/v2/dockerversion.Version=$DOCKER_VERSION" \
  "github.com/moby/moby/v2/cmd/dockerd@$moby" "github.com/moby/moby/v2/cmd/docker-proxy@$moby"
# containerd without what dockerd never asks of it: the CRI plugin (Kubernetes' runtime API, a sixth of
# containerd's build: 141 -> 122 s cold) and the btrfs, devmapper and zfs snapshotters (the bed's
# dockerd keeps its images in its overlay2 driver).
inst 'no_cri no_btrfs no_devmapper no_zfs' "-s -w -X github.com/containerd/containerd/v2/version.Version=$containerd" \
  "github.com/containerd/containerd/v2/cmd/containerd@$containerd" \
  "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd"
inst 'seccomp urfave_cli_no_docs' "-s -w -X main.version=${runc#v}" "github.com/opencontainers/runc@$runc"
cp /usr/bin/tini-static "$GOBIN/docker-init"
rm -rf "${OUT:?}/bin"
mv "$GOBIN" "$OUT/bin"
echo "$want" >"$STAMP"
log "done in $(( $(date +%s) - start ))s"
echo "$OUT"
