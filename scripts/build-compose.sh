#!/usr/bin/env bash
# Builds `docker compose` (compose v2, github.com/docker/compose/v5) from its Go module into a cache
# directory outside the repo, keyed by version, as a docker CLI plugin: DIR/cli-plugins/docker-compose.
# `go install module/cmd@version` refuses the module (its go.mod has exclude directives), so the module
# is downloaded, copied out of the module cache and built there. Skips the build when the cache matches.
#
# Usage: build-compose.sh [VERSION]   (default: $COMPOSE_VERSION, else the matrix's, internal/matrix:
#        `go run ./cmd/testbed version compose`)
# Prints the docker config directory to use (DOCKER_CONFIG=DIR) on its last line. Cold: ~3 minutes.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
COMPOSE_VERSION=${1:-${COMPOSE_VERSION:-$(go -C "$REPO_DIR" run ./cmd/testbed version compose)}}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
OUT="$CACHE_ROOT/compose-$COMPOSE_VERSION"
BIN="$OUT/cli-plugins/docker-compose"
STAMP="$OUT/.built"
MODULE=github.com/docker/compose/v5

log() { echo "build-compose: $*" >&2; }

cached() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$COMPOSE_VERSION" ] && [ -x "$BIN" ]; }
if cached; then log "cached compose $COMPOSE_VERSION in $OUT"; echo "$OUT"; exit 0; fi

mkdir -p "$CACHE_ROOT"
exec 8>"$CACHE_ROOT/.build-compose.lock"
if ! flock -n 8; then log "another build holds $CACHE_ROOT/.build-compose.lock, waiting"; flock 8; fi
if cached; then log "cached compose $COMPOSE_VERSION in $OUT"; echo "$OUT"; exit 0; fi

command -v go >/dev/null || { log "go is required"; exit 1; }
export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local
start=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT/cli-plugins"
src=$(cd "$OUT" && go mod download -json "$MODULE@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { log "go mod download $MODULE@$COMPOSE_VERSION gave no directory"; exit 1; }
cp -r "$src" "$OUT/src"
chmod -R u+w "$OUT/src"
log "building compose $COMPOSE_VERSION into $OUT"
(
  cd "$OUT/src"
  go build -trimpath -ldflags "-s -w -X $MODULE/internal.Version=$COMPOSE_VERSION" -o "$BIN" ./cmd
)
rm -rf "$OUT/src"
DOCKER_CONFIG="$OUT" "$BIN" version >&2 || true
echo "$COMPOSE_VERSION" >"$STAMP"
log "built in $(( $(date +%s) - start ))s"
echo "$OUT"
