#!/usr/bin/env bash
# Unit and integration tests on this kernel, against a real redis-server,
# snmpsimd and the SSH switch emulator that each package's tests start for
# themselves. The crash, isolation-history and soak tests run in a phase of
# their own.
set -euo pipefail
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim python3=python3
go vet ./...
go test -count=1 -race -timeout 15m -skip 'TestCrashRecovery|TestSoak|TestIsolationHistories' ./...
