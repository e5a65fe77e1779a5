#!/usr/bin/env bash
# The end-to-end tier (make test-e2e; scripts/test.sh calls it): `testbed e2e` (cmd/testbed,
# internal/e2erun), built as make build builds it. Usage and environment: bin/testbed e2e --help.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -o bin/testbed ./cmd/testbed
exec bin/testbed e2e "$@"
