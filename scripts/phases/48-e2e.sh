#!/usr/bin/env bash
# The whole picture running (e2e/README.md): three sites of switch, host and
# guest namespaces inside a throw-away VM with Debian's stock kernel
# (tools/run-in-vm.sh), driven only through the project's binaries from
# `make build`. One VM boot runs every scenario; the last line is
# `e2e: N passed, M failed`. E2E_STABILITY sets the 1000 pps run's length
# (10s here, 60s for benchmarks); E2E_RUN picks scenarios (go test -run).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 ip=iproute2 bridge=iproute2 \
  redis-server=redis-server iperf3=iperf3
for b in leasesrv vcctl vc-dom0 vc-prologue vc-epilogue vc-periodic; do
  [ -x "bin/$b" ] || { echo "e2e: bin/$b is missing: run make build" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go test -c -tags e2e -o "$out/e2e.test" ./e2e
set +e
tools/run-in-vm.sh -t "${E2E_TIMEOUT:-600}" -m 2048 \
  -a /usr/sbin/ip -a /usr/sbin/bridge -a /usr/bin/redis-server -a /usr/bin/iperf3 \
  -d bin -e VIRTCLOUD_VM=1 -e "VIRTCLOUD_BIN=$PWD/bin" -e "E2E_STABILITY=${E2E_STABILITY:-10s}" \
  "$out/e2e.test" -test.count=1 -test.v -test.run "${E2E_RUN:-.}" 2>&1 | tee "$out/e2e.log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -c '^--- PASS: Test' "$out/e2e.log" || true)
failed=$(grep -c '^--- FAIL: Test' "$out/e2e.log" || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "e2e: the test binary exited $rc without a failed scenario (testbed or VM failure)"
  failed=$((failed + 1))
fi
echo "e2e: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
