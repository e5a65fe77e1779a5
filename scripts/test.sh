#!/usr/bin/env bash
# The project's one test command (README: `make test`; CI: .ci/run). As root on Debian 12 it installs
# what is missing, then runs the fast lane first (`make lint`, `make test-unit`: seconds once the
# linter is cached), then builds cilium-agent into the cache (about 15 minutes cold, skipped when
# cached) and runs the long tiers: privileged (throwaway netns) and end-to-end (real Docker engine +
# real cilium-agent in test-bed namespaces).
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

say "build cilium-agent (cached)"
scripts/build-cilium.sh >/dev/null

say "privileged tests (throwaway network namespaces)"
go test -race -count=1 ./endpoint/...

say "end-to-end tests (real Docker engine + cilium-agent)"
make build
trap 'scripts/testbed.sh down-all >/dev/null 2>&1 || true' EXIT
scripts/testbed.sh down-all >/dev/null 2>&1 || true
go test -count=1 -timeout 45m -v ./e2e/
say "all tests passed"
