#!/usr/bin/env bash
# The project's one lint command (`make lint`; scripts/test.sh runs it first): go vet, gofmt,
# golangci-lint (.golangci.yml: package boundaries, netlink through the handle, errors, imports), and
# every shell script through shellcheck. Needs no root; builds golangci-lint into the cache on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
step() { printf 'lint: %s\n' "$*"; }

step "go vet"
go vet ./... || fail=1

step "gofmt"
mapfile -t gofiles < <(git ls-files --cached --others --exclude-standard -- '*.go')
unformatted=$(gofmt -l "${gofiles[@]}")
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted (run gofmt -w):" >&2
  echo "$unformatted" >&2
  fail=1
fi

step "golangci-lint"
golangci_lint=$(scripts/install-golangci-lint.sh | tail -n1)
"$golangci_lint" run ./... || fail=1

step "shellcheck"
command -v shellcheck >/dev/null || { echo "lint: shellcheck missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- 'scripts/*.sh' 'scripts/*.bash' .ci/run)
shellcheck -x "${scripts[@]}" || fail=1

[ "$fail" = 0 ] || { echo "lint: failed" >&2; exit 1; }
echo "lint: clean"
