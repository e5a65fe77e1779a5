#!/usr/bin/env bash
# Builds the etcd server of the version the project's go.mod pins (go.etcd.io/etcd/server/v3), static,
# into a cache directory outside the repo, keyed by version: a main package of one line,
# etcdmain.Main(os.Args), in a module of its own. The bed's etcd (node 1) runs it; Debian's etcd 3.4 is
# end-of-life. Beside it, etcdctl of the same version (go.etcd.io/etcd/etcdctl/v3, a tool of that
# module), for the stand-in etcd image (scripts/build-images.sh). Skips the build when the cached
# binaries match the version.
#
# Usage: build-etcd.sh   Prints the etcd binary's path on its last line; etcdctl is beside it.
# Cold: about 2 minutes on 2 cores.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
ETCD_VERSION=$(sed -n 's/^[[:space:]]*go\.etcd\.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$REPO_DIR/go.mod")
[ -n "$ETCD_VERSION" ] || { echo "build-etcd: go.mod pins no go.etcd.io/etcd/server/v3" >&2; exit 1; }
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
OUT="$CACHE_ROOT/etcd-$ETCD_VERSION"
STAMP="$OUT/.built"

log() { echo "build-etcd: $*" >&2; }

cached() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$ETCD_VERSION" ] && [ -x "$OUT/bin/etcd" ] && [ -x "$OUT/bin/etcdctl" ]
}
if cached; then
  log "cached etcd $ETCD_VERSION in $OUT"
  echo "$OUT/bin/etcd"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
exec 8>"$CACHE_ROOT/.build-etcd.lock"
flock 8
if cached; then
  log "cached etcd $ETCD_VERSION in $OUT"
  echo "$OUT/bin/etcd"
  exit 0
fi

command -v go >/dev/null || { log "go is required"; exit 1; }
export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOWORK=off
start=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT/src"
log "building etcd and etcdctl $ETCD_VERSION into $OUT"
cat >"$OUT/src/main.go" <<'GO'
// The etcd server: etcd's own entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
(
  cd "$OUT/src"
  go mod init etcd-build >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  # etcdctl's main package, recorded as a tool of this module so that tidy keeps it.
  go get -tool "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" >/dev/null 2>&1 ||
    go get -tool "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION"
  go mod tidy >/dev/null 2>&1 || go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$OUT/bin/etcd" .
  go build -trimpath -ldflags "-s -w" -o "$OUT/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3
)
# sed, not head: head exits after the first line, and under pipefail the SIGPIPE that the rest of the
# output then meets fails the build (exit 141, seen in a cold make demo).
"$OUT/bin/etcd" --version | sed -n 1p >&2
"$OUT/bin/etcdctl" version | sed -n 1p >&2
echo "$ETCD_VERSION" >"$STAMP"
log "built in $(( $(date +%s) - start ))s"
echo "$OUT/bin/etcd"
