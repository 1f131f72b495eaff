#!/usr/bin/env bash
# make demo's control plane, checked: after each commit the emulated switches
# (SNMP agent, Cisco IOS and Junos over SSH) carry the lease's VLAN on
# exactly the hosts' ports and the uplinks, the audit finds the three pieces
# of drift the demo makes by hand, --fix repairs them, a release clears the
# switches, and the status page's address is printed. The data plane has a
# phase of its own (e2e).
set -uo pipefail
cd "$(dirname "$0")/../.."
make build >/dev/null || { echo "demo: 0 passed, 1 failed"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
VIRTCLOUD_DEMO_DATAPLANE=no contrib/demo/demo.sh </dev/null >"$out" 2>&1
rc=$?
pass=0 fail=0
check() { # check WHAT EXTENDED-REGEX (matched against one line of the output)
  if grep -Eq -- "$2" "$out"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1 (no line matches $2)"; fi
}
count() { # count WHAT N EXTENDED-REGEX
  local n; n=$(grep -Ec -- "$3" "$out")
  if [ "$n" -eq "$2" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1 ($n lines match $3, want $2)"; fi
}
v1=$(grep -o 'carry VLAN [0-9]*' "$out" | head -1 | grep -o '[0-9]*$')
[ "$rc" -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: demo.sh exited $rc"; }
check "a VLAN was granted" "carry VLAN [0-9]+"
check "brno-sw1 carries it on skirit82-1's port and the uplink" "^${v1:-X} +vc-${v1:-X} +Ethernet3,Ethernet48 +-$"
check "praha-sw1 carries it on skurut9-1's port and the uplink" "^${v1:-X} +vc-${v1:-X} +Gi1/0/9,Gi1/0/48 +-$"
rows_after() { # rows_after COMMAND: the table rows (after the header) that COMMAND printed
  awk -v cmd="\$ $1" '$0 == cmd { on = 1; getline; next } on && /^(\$|$|.*== )/ { on = 0 } on' "$out"
}
if [ -z "$(rows_after "vcctl switch show plzen-sw1 --vlan ${v1:-X}")" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: plzen-sw1 carries VLAN $v1 of a cluster over brno and praha"; fi
count "brno-sw1 drops the VLAN at the release" 1 "^${v1:-X} +vc-${v1:-X} +Ethernet3,Ethernet48 +-$"
check "plzen-sw1 carries the three-site cluster's VLAN" "^14[0-9] +vc-14[0-9] +ge-0/0/23,ge-0/0/47 +-$"
check "the audit finds the orphan" "^plzen-sw1 +orphan +310 +ge-0/0/5 +- +found$"
check "the audit finds the missing port" "^praha-sw1 +missing +${v1:-X} +Gi1/0/9 +1001.pbs.example.org +found$"
check "the audit finds the extra port" "^brno-sw1 +extra +14[0-9] +Ethernet7 +1002.pbs.example.org +found$"
check "the audit says drift remains" "drift found: 3 finding\\(s\\)"
count "--fix repairs all three" 3 " fixed$"
check "the next audit is clean" "^no drift: 3 switch\\(es\\)"
check "the status page's address and a viewer token" "Status page: http://127.0.0.1:7480/ui/ +\\(sign in with the viewer token demo-viewer-"
check "everything stopped" "^demo: stopped everything it started$"
[ "$fail" -eq 0 ] || { echo "--- demo output"; cat "$out"; }
echo "demo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
