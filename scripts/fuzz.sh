#!/usr/bin/env bash
# Fuzzes every Fuzz target of the module for a short while each (make fuzz; scripts/test.sh runs it):
# garbage must never panic a decoder or change state. FUZZ_TIME per target (default 10s). The seed
# corpus is each target's f.Add calls plus testdata/fuzz/ where committed.
# The targets are read from each package's _test.go files (`func FuzzX(f *testing.F)`), not with
# `go test -list`, which links a test binary for every package of the module first (about a minute warm).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZ_TIME:-10s}
n=0
while read -r pkg target; do
  echo "fuzz: $pkg $target for $t"
  # Bounded: a decoder that hangs on some input is a finding too (the compile comes first).
  timeout 600 go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" </dev/null ||
    { echo "fuzz: $pkg $target failed or hung (exit $?)" >&2; exit 1; }
  n=$((n + 1))
done < <(go list -f '{{.Dir}} {{.ImportPath}}' ./... | while read -r dir pkg; do
  sed -n "s|^func \\(Fuzz[A-Za-z0-9_]*\\)(.*\\*testing\\.F).*|$pkg \\1|p" "$dir"/*_test.go 2>/dev/null || true
done)
[ "$n" -gt 0 ] || { echo "fuzz: no Fuzz targets found" >&2; exit 1; }
echo "fuzz: $n targets, no failure"
