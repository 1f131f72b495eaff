#!/usr/bin/env bash
# Redis high availability: a Sentinel group loses its primary under load, and
# a three-primary Cluster serves the lease server. Alone: it kills servers.
set -euo pipefail
scripts/deps.sh redis-server=redis-server redis-sentinel=redis-sentinel redis-cli=redis-tools
go test -count=1 -tags redisha -run 'TestSentinelFailoverUnderLoad|TestRedisCluster' -v ./leasesrv/ 2>&1 |
  grep -v '^redis: ' | grep -E '^(=== RUN|--- |    ha_test|BENCH|PASS|FAIL|ok )'
