#!/usr/bin/env bash
# bench-dom0.sh: attach and detach of 100 guest interfaces through vc-dom0's
# netlink path against the same work done with one ip command per step (as
# Xen's vif-bridge and OpenNebula do), 3 rounds after an untimed one in one
# VM run with Debian's stock kernel (about 30 s a round: netlink, ip, netlink
# again, the netlink times the mean of both). Prints one parseable line per
# round, times per guest:
#   BENCH dom0_speedup_vs_ip=<ratio> dom0_attach_ms=<ms> dom0_detach_ms=<ms>
#         dom0_ip_attach_ms=<ms> dom0_ip_detach_ms=<ms>
# bench/report judges the goal (>= 10x) over the spread of the rounds. Under
# software emulation the attach time is a relative figure, not a goal.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 ip=iproute2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go test -c -tags vmtest -o "$out/dom0.test" ./dom0
tools/run-in-vm.sh -t 900 -m 768 -a /usr/sbin/ip -d dom0 "$out/dom0.test" \
  -test.run '^$' -test.bench AttachVsIP -test.benchtime 3x
