#!/usr/bin/env bash
# dom0-series.sh: attach time against the number of guests on the bridge,
# vc-dom0's netlink path and `ip` commands, in one VM run with Debian's
# stock kernel (bench/dom0attach). Prints VMKERNEL and SERIES lines for
# bench/report. Run by scripts/bench.sh, which holds the VM lock.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 ip=iproute2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go build -o "$out/dom0attach" ./bench/dom0attach
tools/run-in-vm.sh -t 600 -m 768 -a /usr/sbin/ip "$out/dom0attach"
