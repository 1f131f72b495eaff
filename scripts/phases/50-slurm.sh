#!/usr/bin/env bash
# The scheduler hooks under a real single-node Slurm (munge, slurmctld,
# slurmd started without systemd by tools/slurm), with the real leasesrv,
# Redis and an SNMP agent (snmpsimd) as the switch. The slow cases run side
# by side; see hooks/slurm_real_test.go. First, the hooks' host networking
# through the real vc-dom0, in one throw-away VM (this kernel has no
# 802.1Q): hooks/dom0host/vm_test.go.
set -uo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh qemu-system-x86_64=qemu-system-x86 || exit 1
vmdir=$(mktemp -d)
trap 'rm -rf "$vmdir"' EXIT
echo "--- hooks/dom0host (in the VM)"
CGO_ENABLED=0 go test -c -tags vmtest -o "$vmdir/dom0host.test" ./hooks/dom0host || exit 1
CGO_ENABLED=0 go build -o "$vmdir/vc-dom0" ./cmd/vc-dom0 || exit 1
tools/run-in-vm.sh -t 300 -m 768 -a "$vmdir/vc-dom0" -e VIRTCLOUD_TEST_BIN="$vmdir" "$vmdir/dom0host.test" -test.count=1 ||
  { echo "slurm: 0 passed, 1 failed (dom0host in the VM)"; exit 1; }
echo "--- Slurm"
scripts/deps.sh slurmctld=slurmctld slurmd=slurmd sbatch=slurm-client munged=munge \
  redis-server=redis-server snmpsimd=snmpsim || exit 1
[ -x /usr/sbin/slurmctld ] && dpkg -s slurm-wlm >/dev/null 2>&1 || scripts/deps.sh slurm-wlm-none=slurm-wlm || exit 1
[ -x bin/leasesrv ] && [ -x bin/vc-prologue ] || make build || exit 1
log=$(mktemp)
VIRTCLOUD_TEST_BIN=$PWD/bin go test -count=1 -tags slurmtest -run '^(TestRealSlurm|TestRealSlurmStartFailure)$' -timeout 6m -v ./hooks/ >"$log" 2>&1
rc=$?
grep -E '^\s*--- (PASS|FAIL)|^(ok|FAIL|panic)' "$log"
[ $rc -eq 0 ] || tail -n 80 "$log"
pass=$(grep -E '^\s*--- PASS: ' "$log" | grep -vcE 'TestRealSlurm \(|/cases \(|/others \(|/group \(')
fail=$(grep -E '^\s*--- FAIL: ' "$log" | grep -vcE 'TestRealSlurm \(|/cases \(|/others \(|/group \(')
[ $rc -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
rm -f "$log"
echo "slurm: $pass passed, $fail failed"
[ $rc -eq 0 ]
