#!/usr/bin/env bash
# The data plane of `make demo`: two clusters with the same guest addresses
# on three sites of network namespaces (e2e/README.md), driven only through
# the project's binaries, by scripts/e2e.sh (this kernel when it has 802.1Q,
# else a throw-away VM with Debian's stock kernel). Needs root and, without
# 802.1Q here, QEMU; without them it says what it skips and why, and exits 0.
# The binaries come from `make build` (make demo builds them first).
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
skip() {
  say "Data plane skipped: $*"
  echo "The steps above were the control plane only (leases, pools, the lease server's API)."
  echo "On a root shell with QEMU, 'make demo' also runs guests on real VLAN bridges in a VM."
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root (the testbed builds namespaces and bridges as root)"
command -v go >/dev/null || skip "no Go toolchain to build the testbed"
if scripts/kernel-vlans.sh; then
  need=(ping=iputils-ping arping=iputils-arping) vm=""
else
  need=(qemu-system-x86_64=qemu-system-x86)
  vm="(this kernel lacks 802.1Q: booting Debian's kernel under QEMU; the first run downloads it)"
fi
scripts/deps.sh ip=iproute2 bridge=iproute2 redis-server=redis-server iperf3=iperf3 "${need[@]}" >/dev/null 2>&1 ||
  skip "a package the testbed needs cannot be installed (scripts/deps.sh ${need[*]#*=} iproute2 redis-server iperf3)"
say "Data plane: three sites, six hypervisor hosts and two clusters' guests"
[ -z "$vm" ] || echo "$vm"
set +e
scripts/e2e.sh -test.run '^TestTwoClustersSameAddresses$' 2>&1 |
  grep -v -e '^BENCH ' -e '^PASS$' -e '^ok ' -e '^e2e: this kernel'
rc=${PIPESTATUS[0]}
set -e
case $rc in
  0) echo "demo: data plane shown; its namespaces are gone with it" ;;
  125|126) skip "the VM could not run (tools/run-in-vm.sh exit $rc)" ;;
  *) echo "demo: the data-plane scenario FAILED (exit $rc)"; exit "$rc" ;;
esac
