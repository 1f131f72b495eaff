#!/usr/bin/env bash
# dom0's kernel tests (802.1Q devices, bridge VLAN filtering, nftables in the
# bridge family), inside a throw-away VM with Debian's stock kernel
# (tools/run-in-vm.sh): one test binary per package, one VM boot each. The
# vmtest build tag keeps these tests out of 10-unit (this kernel lacks the
# features); here they fail, never skip, when the VM or a feature is missing.
# The benchmark is scripts/bench-dom0.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pkg in dom0 dom0/cli; do
  CGO_ENABLED=0 go test -c -tags vmtest -o "$out/$(basename "$pkg").test" "./$pkg"
done
run() { tools/run-in-vm.sh -t 300 -m 768 "$@"; }
echo "--- dom0: twelve hosts' first VLAN at once on a kernel that has just booted (a VM of its own)"
run -N -d dom0 "$out/dom0.test" -test.count=1 -test.run '^TestFirstUseSinceBoot$'
echo "--- dom0 (kernel tests, in the VM)"
run -d dom0 "$out/dom0.test" -test.count=1 -test.skip '^TestFirstUseSinceBoot$'
echo "--- dom0/cli (entry points, in the VM)"
run -d dom0/cli "$out/cli.test" -test.count=1
