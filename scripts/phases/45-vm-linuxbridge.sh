#!/usr/bin/env bash
# The SSH driver's linux-bridge dialect against a real kernel bridge with
# vlan_filtering, inside a throw-away VM with Debian's stock kernel
# (tools/run-in-vm.sh): the switch emulator runs the driver's `bridge`
# command lines for real in a network namespace. Fails, never skips, when
# the VM cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 ip=iproute2 bridge=iproute2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go test -c -tags vmtest -o "$out/ssh.test" ./switchdrv/ssh
echo "--- switchdrv/ssh linux-bridge dialect (real kernel bridge, in the VM)"
tools/run-in-vm.sh -t 300 -m 768 -a /usr/sbin/ip -a /usr/sbin/bridge -e VIRTCLOUD_VM=1 \
  "$out/ssh.test" -test.count=1 -test.v -test.run '^TestLinuxBridgeInVM$'
