#!/usr/bin/env bash
# Unit and integration tests on this kernel, against a real redis-server that
# each package's tests start for themselves.
set -euo pipefail
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim
go vet ./...
go test -count=1 -race -timeout 15m ./...
scripts/deps.sh python3=python3
