#!/usr/bin/env bash
# The project's one test command (README: `make test`; CI: .ci/run). As root on Debian 12 it installs
# what is missing, then runs every tier: lint, unit (no root), privileged (throwaway netns) and
# end-to-end (real Docker engines + real cilium-agents in test-bed namespaces, one run per leg of the
# matrix; the engines and agents are built into the cache first, about 30 minutes cold, skipped when
# cached).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the test bed creates network namespaces)" >&2; exit 1; }

say "install packages"
scripts/install-deps.sh

say "lint"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "not gofmt-formatted: $unformatted" >&2; exit 1; }

say "unit tests (no root)"
go test -short -race -count=1 ./...

say "privileged tests (throwaway network namespaces)"
go test -race -count=1 ./endpoint/...

say "end-to-end tests: the matrix (scripts/e2e.sh builds its engines and agents into the cache first)"
make build
scripts/e2e.sh
say "all tests passed"
