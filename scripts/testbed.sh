#!/usr/bin/env bash
# The test bed is Go: cmd/testbed over internal/testbed (`scripts/testbed.sh help`). This builds bin/testbed
# when it is missing or older than its sources (make build builds it too), then execs it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$repo/bin/testbed
src=("$repo"/cmd/testbed "$repo"/cmd/internal/cli "$repo"/internal/testbed "$repo"/internal/matrix "$repo"/procstop "$repo"/go.mod)
if [ ! -x "$bin" ] || [ -n "$(find "${src[@]}" -newer "$bin" -print -quit)" ]; then
  mkdir -p "$repo/bin"
  tmp=$(mktemp "$bin.XXXXXX")   # a build beside the running binary, then a rename: no "text file busy"
  go -C "$repo" build -o "$tmp" ./cmd/testbed || { rm -f "$tmp"; exit 1; }
  mv "$tmp" "$bin"
fi
exec "$bin" "$@"
