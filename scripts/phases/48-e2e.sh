#!/usr/bin/env bash
# The whole picture running (e2e/README.md): three sites of switch, host and
# guest namespaces, driven only through the project's binaries from
# `make build`, by scripts/e2e.sh (this kernel when it has 802.1Q, else a
# throw-away VM with Debian's stock kernel). The last line is
# `e2e: N passed, M failed`. E2E_STABILITY sets the 1000 pps run's length
# (10s here, 60s for benchmarks); E2E_RUN picks scenarios (go test -run).
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
scripts/e2e.sh -test.v -test.run "${E2E_RUN:-.}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -c '^--- PASS: Test' "$log" || true)
failed=$(grep -c '^--- FAIL: Test' "$log" || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "e2e: the test binary exited $rc without a failed scenario (testbed or VM failure)"
  failed=$((failed + 1))
fi
echo "e2e: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
