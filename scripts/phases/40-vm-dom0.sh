#!/usr/bin/env bash
# dom0's kernel tests (802.1Q devices, bridge VLAN filtering, nftables in the
# bridge family) and its attach benchmark, inside a throw-away VM with
# Debian's stock kernel (tools/run-in-vm.sh): one test binary per package,
# one VM boot each. Fails, never skips, when the VM cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 ip=iproute2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pkg in dom0 dom0/cli; do
  CGO_ENABLED=0 go test -c -tags vmtest -o "$out/$(basename "$pkg").test" "./$pkg"
done
run() { tools/run-in-vm.sh -t 300 -m 768 -a /usr/sbin/ip "$@"; }
echo "--- dom0 (kernel tests and benchmark, in the VM)"
run -d dom0 "$out/dom0.test" -test.count=1 -test.bench=AttachVsIP -test.benchtime=1x
echo "--- dom0/cli (entry points, in the VM)"
run -d dom0/cli "$out/cli.test" -test.count=1
