#!/usr/bin/env bash
# Expiry against a jumping host clock (leasesrv/clock_vm_test.go): the lease
# server runs inside a throw-away VM whose clock the test steps a day forward
# and two days back; Redis runs here, outside the VM's clock, on a Unix
# socket the VM reaches through QEMU's restricted user network
# (tools/run-in-vm.sh --reach).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 redis-server=redis-server redis-cli=redis-tools socat=socat
out=$(mktemp -d)
redis-server --port 0 --unixsocket "$out/redis.sock" --save '' --appendonly no --dir "$out" >"$out/redis.log" 2>&1 &
redis=$!
trap 'kill "$redis" 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 50); do
  redis-cli -s "$out/redis.sock" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -s "$out/redis.sock" ping >/dev/null || { echo "vm-clock: redis-server did not start" >&2; cat "$out/redis.log" >&2; exit 1; }
CGO_ENABLED=0 go test -c -tags vmtest -o "$out/leasesrv.test" ./leasesrv
tools/run-in-vm.sh -t 300 -m 768 -r "6379=$out/redis.sock" -e "VIRTCLOUD_CLOCK_REDIS=redis://10.0.2.100:6379" \
  "$out/leasesrv.test" -test.count=1 -test.v -test.run '^TestHostClockJump$'
