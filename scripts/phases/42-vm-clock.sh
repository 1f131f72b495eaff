#!/usr/bin/env bash
# Expiry against a jumping host clock (leasesrv/clock_vm_test.go): the lease
# server runs inside a throw-away VM whose clock the test steps a day forward
# and two days back; Redis runs here, outside the VM's clock, reached through
# QEMU's restricted user network (tools/run-in-vm.sh --reach).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 redis-server=redis-server redis-cli=redis-tools socat=socat
out=$(mktemp -d)
redis=""
trap '[ -z "$redis" ] || kill "$redis" 2>/dev/null || true; rm -rf "$out"' EXIT
CGO_ENABLED=0 go test -c -tags vmtest -o "$out/leasesrv.test" ./leasesrv
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$out" >"$out/redis.log" 2>&1 &
  redis=$!
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break 2
    kill -0 "$redis" 2>/dev/null || break
    sleep 0.1
  done
  kill "$redis" 2>/dev/null || true; redis=""
done
[ -n "$redis" ] || { echo "vm-clock: redis-server did not start" >&2; cat "$out/redis.log" >&2; exit 1; }
tools/run-in-vm.sh -t 300 -m 768 -r "$port" -e "VIRTCLOUD_CLOCK_REDIS=redis://10.0.2.100:$port" \
  "$out/leasesrv.test" -test.count=1 -test.v -test.run '^TestHostClockJump$'
