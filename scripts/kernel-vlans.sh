#!/usr/bin/env bash
# kernel-vlans.sh: exits 0 when the data-plane tests can run on this machine's
# own kernel: root, 802.1Q devices and VLAN-filtering bridges, tried in a
# throw-away network namespace. Otherwise they run in tools/run-in-vm.sh.
[ "$(id -u)" -eq 0 ] || exit 1
command -v unshare >/dev/null && command -v ip >/dev/null || exit 1
unshare --net sh -c 'ip link add vcprobe type dummy &&
  ip link add link vcprobe name vcprobe.5 type vlan id 5 &&
  ip link add vcprobebr type bridge vlan_filtering 1' >/dev/null 2>&1
