#!/usr/bin/env bash
# go-phase.sh NAME GO-TEST-ARGS...: runs `go test -v` with the arguments for a
# phase, shows the tests' verdicts (the whole output on a failure) and ends
# with `NAME: N passed, M failed`.
set -uo pipefail
name=$1; shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -count=1 -v "$@" >"$out" 2>&1
rc=$?
grep -E '^(=== RUN|--- |PASS|FAIL|ok )' "$out"
[ "$rc" -eq 0 ] || tail -n 60 "$out"
passed=$(grep -c -- '^--- PASS' "$out")
failed=$(grep -c -- '^--- FAIL' "$out")
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$name: $passed passed, $failed failed"
exit "$rc"
