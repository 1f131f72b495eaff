#!/usr/bin/env bash
# make soak: 50 crash-and-recover runs of a real leasesrv killed at random,
# 40 random topologies through 40-step histories under the isolation
# checker, and 100,000 mixed lease operations from 64 clients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim
VIRTCLOUD_CRASH_RUNS=${VIRTCLOUD_CRASH_RUNS:-50} VIRTCLOUD_SOAK_OPS=${VIRTCLOUD_SOAK_OPS:-100000} \
VIRTCLOUD_HISTORY_RUNS=${VIRTCLOUD_HISTORY_RUNS:-40} VIRTCLOUD_HISTORY_STEPS=${VIRTCLOUD_HISTORY_STEPS:-40} \
  go test -count=1 -timeout 90m -run 'TestCrashRecovery|TestIsolationHistories|TestSoak' -v ./leasesrv/ 2>&1 | grep -v '^redis: '
