#!/usr/bin/env bash
# The end-to-end tier (make test-e2e; scripts/test.sh calls it): `testbed e2e` (cmd/testbed,
# internal/e2erun). Usage and environment: bin/testbed e2e --help.
# It runs a copy of its own, not bin/testbed: scripts/test.sh starts `e2e.sh --build` in the background
# and `make test-e2e` rebuilds bin/testbed meanwhile, which fails with "text file busy" when go build
# copies a cached binary over one that runs. An earlier run's copy is removed (one that still runs
# keeps its open file).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
rm -rf bin/.e2e-testbed.*
dir=$(mktemp -d "$PWD/bin/.e2e-testbed.XXXXXX")
CGO_ENABLED=0 go build -o "$dir/testbed" ./cmd/testbed
exec "$dir/testbed" e2e "$@"
