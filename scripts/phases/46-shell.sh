#!/usr/bin/env bash
# vcctl in the shells: the completion scripts it prints, sourced into
# Debian's bash, zsh and fish, complete commands, flags, job ids and switch
# names from a real lease server; its man page passes mandoc -Tlint.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim zsh=zsh fish=fish mandoc=mandoc
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
go test -count=1 -timeout 5m -tags shell -run 'TestCompletionInRealShells' -v ./internal/vcctl/ >"$out" 2>&1 || rc=$?
grep -E '^(=== RUN|--- |\s+shells_test|PASS|FAIL|ok )' "$out" || true
[ "$rc" -eq 0 ] || tail -n 40 "$out"
passed=$(grep -c -- '^--- PASS' "$out" || true)
failed=$(grep -c -- '^--- FAIL' "$out" || true)
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "shell: $passed passed, $failed failed"
exit "$rc"
