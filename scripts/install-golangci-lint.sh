#!/usr/bin/env bash
# Builds golangci-lint from its pinned Go module into the cache directory outside the repo, keyed by
# version; skips the build when that version is already there. Cold: about 3 minutes on 2 cores.
#
# Usage: install-golangci-lint.sh   (version: $GOLANGCI_LINT_VERSION, else the pin below)
# Prints the binary's path on its last line.
set -euo pipefail

GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-v2.15.0}
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
OUT="$CACHE_ROOT/tools/golangci-lint-$GOLANGCI_LINT_VERSION"
BIN="$OUT/golangci-lint"

log() { echo "install-golangci-lint: $*" >&2; }

mkdir -p "$OUT"
exec 8>"$OUT/.lock"
flock 8

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "go is required (>= 1.26)"; exit 1; }
log "building golangci-lint $GOLANGCI_LINT_VERSION into $OUT"
# GOTOOLCHAIN=local: build with the installed Go or fail, never fetch another toolchain.
GOBIN="$OUT/.tmp" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0 \
  go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
mv "$OUT/.tmp/golangci-lint" "$BIN"
rmdir "$OUT/.tmp"
echo "$BIN"
