#!/usr/bin/env bash
# kernel-vlans.sh: exits 0 when the data-plane tests can run on this machine's
# own kernel, non-zero otherwise (they then run in tools/run-in-vm.sh). Tried
# in a throw-away network namespace, as root: veth pairs, a VLAN-filtering
# bridge, and vc-dom0 (bin/, from `make build`) ensuring a VLAN in classic
# mode, which needs 802.1Q devices and nftables' bridge family for its guard.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] && [ -x bin/vc-dom0 ] || exit 1
command -v unshare >/dev/null && command -v ip >/dev/null || exit 1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '[dom0]\ntrunk = "vcprobe"\nmode = "classic"\nstate_dir = "%s"\n' "$dir" > "$dir/probe.toml"
unshare --net sh -c 'ip link add vcprobe type dummy &&
  ip link add vcprobe0 type veth peer name vcprobe1 &&
  ip link add vcprobebr type bridge vlan_filtering 1 &&
  "$0" --config "$1" ensure --vlan 5' bin/vc-dom0 "$dir/probe.toml" >/dev/null 2>&1
