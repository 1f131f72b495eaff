#!/usr/bin/env bash
# The scheduler hooks under a real single-node Slurm (munge, slurmctld,
# slurmd started without systemd by tools/slurm), with the real leasesrv,
# Redis and an SNMP agent (snmpsimd) as the switch. The slow cases run side
# by side; see hooks/slurm_real_test.go.
set -uo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh slurmctld=slurmctld slurmd=slurmd sbatch=slurm-client munged=munge \
  redis-server=redis-server snmpsimd=snmpsim || exit 1
[ -x /usr/sbin/slurmctld ] && dpkg -s slurm-wlm >/dev/null 2>&1 || scripts/deps.sh slurm-wlm-none=slurm-wlm || exit 1
[ -x bin/leasesrv ] && [ -x bin/vc-prologue ] || make build || exit 1
log=$(mktemp)
VIRTCLOUD_TEST_BIN=$PWD/bin go test -count=1 -tags slurmtest -run '^TestRealSlurm$' -timeout 6m -v ./hooks/ >"$log" 2>&1
rc=$?
grep -E '^\s*--- (PASS|FAIL)|^(ok|FAIL|panic)' "$log"
[ $rc -eq 0 ] || tail -n 80 "$log"
pass=$(grep -E '^\s*--- PASS: ' "$log" | grep -vcE 'TestRealSlurm \(|/cases \(|/others \(|/group \(')
fail=$(grep -E '^\s*--- FAIL: ' "$log" | grep -vcE 'TestRealSlurm \(|/cases \(|/others \(|/group \(')
[ $rc -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
rm -f "$log"
echo "slurm: $pass passed, $fail failed"
[ $rc -eq 0 ]
