#!/usr/bin/env bash
# Unit and integration tests on this kernel, against a real redis-server,
# snmpsimd and the SSH switch emulator that each package's tests start for
# themselves. The crash, isolation-history and soak tests run in a phase of
# their own.
set -euo pipefail
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim python3=python3
go vet ./...
(cd bench/report && go vet ./... && go test -count=1 ./...) # the benchmark report is a module of its own
# Linters at pinned versions, built from the module proxy like any dependency.
# errcheck reads every non-test file; tests fail through their own asserts.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go run github.com/kisielk/errcheck@v1.9.0 -ignoretests -exclude scripts/errcheck-exclude.txt ./...
go test -count=1 -race -timeout 15m -skip 'TestCrashRecovery|TestSoak|TestIsolationHistories' ./...
