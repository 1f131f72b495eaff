#!/usr/bin/env bash
# A real leasesrv killed with SIGKILL at failpoints and random moments, 10
# runs; three random topologies driven through random concurrent histories
# with the isolation checker after every step; and a short soak of 64
# clients; alone, since they load the machine. make soak runs the long
# versions.
set -euo pipefail
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim
go test -count=1 -timeout 15m -run 'TestCrashRecovery|TestIsolationHistories|TestSoak' -v ./leasesrv/ 2>&1 |
  grep -E '^(=== RUN|--- |    (crash|soak|history)_test|PASS|FAIL|ok )'
