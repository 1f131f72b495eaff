#!/usr/bin/env bash
# The hooks under a real Torque 6.1 (../shared/peers/torque, installed at
# /tmp/pbs): pbs_server, pbs_sched and two moms on this host (nodes
# $(hostname) and $(hostname)-2), with the real leasesrv, Redis and snmpsimd
# agents as the switches, the hooks installed from hooks/README.md's lines.
# The cases: hooks/pbs_real_test.go.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/phases/lib/real-manager.sh
need_peer torque; case $? in 1) exit 1 ;; 2) exit 77 ;; esac
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim || exit 1
"$PEER/install.sh" >/dev/null || { echo "torque: 0 passed, 1 failed (install.sh)"; exit 1; }
make build >/dev/null || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
VIRTCLOUD_TEST_BIN=$PWD/bin VIRTCLOUD_PEERS=$(dirname "$PEER") \
  go test -count=1 -tags torquetest -run '^TestRealTorque$' -timeout 8m -v ./hooks/ >"$log" 2>&1
go_test_summary torque "$log" $?
