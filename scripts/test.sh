#!/usr/bin/env bash
# The project's one test command (README: `make test`; CI: .ci/run). As root on Debian 12 it installs
# what is missing, then runs the fast lane first (`make lint`, `make test-unit`: seconds once the
# linter is cached), then the long tiers: privileged (throwaway netns) and end-to-end (real Docker
# engines + real cilium-agents in test-bed namespaces, one run per leg of the matrix, scripts/e2e.sh).
# The engines and agents the legs need build into the cache at nice 19 from the start, beside the fast
# lane (cold, about 20 minutes of 2 cores; skipped when cached).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the test bed creates network namespaces)" >&2; exit 1; }

say "install packages"
scripts/install-deps.sh

# The e2e tier's engines and agents build from here on at nice 19, in a process group of their own,
# beside lint and the unit tests (which leave CPU idle while they download and link); the e2e tier's
# builds wait for them (the build scripts' locks) or build what this did not. Stopped if this exits
# first.
E2E_LOG_DIR=${E2E_LOG_DIR:-/tmp/cilium-docker-e2e}
mkdir -p "$E2E_LOG_DIR"
say "engines and agents for the e2e tier, at nice 19 in the background (log $E2E_LOG_DIR/prebuild.log)"
setsid nice -n 19 scripts/e2e.sh --build >"$E2E_LOG_DIR/prebuild.log" 2>&1 &
prebuild=$!
trap 'kill -TERM -- -"$prebuild" 2>/dev/null || true' EXIT

say "lint (make lint)"
make lint

say "unit tests, no root (make test-unit)"
make test-unit

say "fuzzing, each target briefly (make fuzz)"
make fuzz

say "privileged tests, throwaway network namespaces (make test-privileged)"
make test-privileged

say "end-to-end tests: the matrix (make test-e2e; scripts/e2e.sh builds its engines and agents into the cache first)"
if kill -0 "$prebuild" 2>/dev/null; then echo "the background build is still running: the e2e tier waits for what it needs"; fi
make test-e2e
say "all tests passed"
