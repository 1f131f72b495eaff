#!/usr/bin/env bash
# e2e.sh [GO TEST FLAGS...]: builds the end-to-end testbed (e2e/) and runs it
# with the binaries of `make build`: on this machine's kernel when it has
# 802.1Q and VLAN filtering (scripts/kernel-vlans.sh), else inside a
# throw-away VM with Debian's stock kernel (tools/run-in-vm.sh). Either way
# the testbed lives in namespaces of its own and goes with them.
# E2E_WHERE=here|vm overrides the choice (benchmarks pin the VM);
# E2E_STABILITY sets the length of the 1000 pps run (default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh ip=iproute2 bridge=iproute2 tc=iproute2 redis-server=redis-server iperf3=iperf3 >&2
for b in leasesrv vcctl vc-dom0 vc-prologue vc-epilogue vc-hook vc-periodic; do
  [ -x "bin/$b" ] || { echo "e2e: bin/$b is missing: run make build" >&2; exit 1; }
done
where=${E2E_WHERE:-auto}
if [ "$where" = auto ]; then
  if scripts/kernel-vlans.sh; then where=here; else where=vm; fi
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go test -c -tags e2e -o "$out/e2e.test" ./e2e
env=(VIRTCLOUD_E2E=1 "VIRTCLOUD_BIN=$PWD/bin" "E2E_STABILITY=${E2E_STABILITY:-10s}")
timeout=${E2E_TIMEOUT:-600}
case $where in
  here)
    # In the VM busybox has these; here they come from Debian.
    scripts/deps.sh ping=iputils-ping arping=iputils-arping >&2
    echo "e2e: this kernel has 802.1Q and VLAN filtering: the testbed runs here, in namespaces of its own"
    timeout -k 5 "$timeout" env "${env[@]}" "$out/e2e.test" -test.count=1 "$@" ;;
  vm)
    scripts/deps.sh qemu-system-x86_64=qemu-system-x86 >&2
    echo "e2e: this kernel lacks 802.1Q or VLAN filtering (or E2E_WHERE=vm): the testbed runs in a VM"
    vmenv=(); for kv in "${env[@]}"; do vmenv+=(-e "$kv"); done
    tools/run-in-vm.sh -t "$timeout" -m 2048 \
      -a /usr/sbin/ip -a /usr/sbin/bridge -a /usr/sbin/tc -a /usr/bin/redis-server -a /usr/bin/iperf3 \
      -d bin "${vmenv[@]}" "$out/e2e.test" -test.count=1 "$@" ;;
  *) echo "e2e: E2E_WHERE must be here or vm, not $where" >&2; exit 2 ;;
esac
