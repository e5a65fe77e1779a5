#!/usr/bin/env bash
# The project's one test command (README: `make test`; CI: .ci/run). As root on Debian 12 it installs
# what is missing, then runs the fast lane first (`make lint`, `make test-unit`: seconds once the
# linter is cached), then the long tiers: privileged (throwaway netns) and end-to-end (real Docker
# engines + real cilium-agents in test-bed namespaces, one run per leg of the matrix, scripts/e2e.sh;
# it builds the engines and agents into the cache first, about 30 minutes cold, skipped when cached).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the test bed creates network namespaces)" >&2; exit 1; }

say "install packages"
scripts/install-deps.sh

say "lint (make lint)"
make lint

say "unit tests, no root (make test-unit)"
make test-unit

say "privileged tests (throwaway network namespaces)"
go test -race -count=1 ./endpoint/...

say "end-to-end tests: the matrix (scripts/e2e.sh builds its engines and agents into the cache first)"
make build
scripts/e2e.sh
say "all tests passed"
