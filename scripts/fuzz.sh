#!/usr/bin/env bash
# make fuzz: run every fuzz target of the project for FUZZTIME each (default
# 30s). Seeds live in the code (f.Add) and in testdata/fuzz; new failing
# inputs are written there by go test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim
t=${FUZZTIME:-30s}
fail=0
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  echo "=== fuzz $name ($pkg, $t)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg" || fail=$((fail+1))
done < <(grep -rhoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . --with-filename | sed 's/func //; s/^\.\///')
echo "fuzz: $fail target(s) failed"
[ "$fail" -eq 0 ]
