#!/usr/bin/env bash
# The status page in a real browser: Debian's chromium, driven from Go by
# chromedp, against a real leasesrv process, redis-server and the switch
# peers. It refreshes the screenshots in docs/ that README shows. Under
# CI=true a missing chromium fails the test instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim chromium=chromium
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
go test -count=1 -timeout 5m -tags browser -run 'TestStatusPageInChromium' -v ./leasesrv/ui/ >"$out" 2>&1 || rc=$?
grep -E '^(=== RUN|--- |\s+browser_test|PASS|FAIL|ok )' "$out" || true
[ "$rc" -eq 0 ] || tail -n 40 "$out"
passed=$(grep -c -- '^--- PASS' "$out" || true)
failed=$(grep -c -- '^--- FAIL' "$out" || true)
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "ui: $passed passed, $failed failed"
exit "$rc"
