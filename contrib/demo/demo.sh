#!/usr/bin/env bash
# make demo: a lease's whole life through vcctl against a real leasesrv and
# Redis on loopback. Starts what it needs and stops all of it again.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh redis-server=redis-server
work=$(mktemp -d)
# The configuration holds tokens: leasesrv refuses one that others may read.
CONF=$work/virtcloud.toml
install -m 0600 contrib/demo/virtcloud.toml "$CONF"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
  echo "demo: stopped everything it started"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

if [ -z "${VIRTCLOUD_REDIS:-}" ]; then
  redis-server --port 6399 --bind 127.0.0.1 --dir "$work" --appendonly yes --save '' \
    --logfile "$work/redis.log" &
  pids+=($!)
  export VIRTCLOUD_REDIS=redis://127.0.0.1:6399/0
fi
bin/leasesrv serve --config "$CONF" 2>"$work/leasesrv.log" &
pids+=($!)
export VIRTCLOUD_SERVER=http://127.0.0.1:7480
export VIRTCLOUD_TOKEN=demo-admin-secret-not-for-production
for _ in $(seq 50); do curl -sf "$VIRTCLOUD_SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
vcctl() { bin/vcctl "$@"; }

say "The sites' pools: brno 100-149 (not 120), praha 130-179, plzen 140-149 and 300-320"
run vcctl pool show

say "A cluster job spanning brno and praha gets a VLAN free at both (130-149)"
run vcctl lease create --job 1001.pbs.example.org --owner alice --host skirit82-1 --host skurut9-1 --ttl 2h

say "Commit: the network is configured (no switches in this demo), the lease turns active"
run vcctl lease commit 1001.pbs.example.org

say "A second cluster over all three sites must find a VLAN free at brno, praha and plzen (140-149)"
run vcctl lease create --job 1002.pbs.example.org --owner bob --host skirit83-1 --host skurut10-1 --host konos23-1
run vcctl lease commit 1002.pbs.example.org
run vcctl lease list
run vcctl pool show

say "Renew: the job's walltime was extended"
run vcctl lease renew 1001.pbs.example.org --ttl 4h

say "Release by the job's epilogue: the VLAN goes into quarantine before reuse"
run vcctl lease release 1001.pbs.example.org

say "An administrator forces a release, no token needed"
run vcctl lease release --force 1002.pbs.example.org

say "A job killed at walltime with no epilogue: its lease expires on its own"
run vcctl lease create --job 1003.pbs.example.org --owner carol --host konos24-1 --ttl 2s
run vcctl lease commit 1003.pbs.example.org
echo "(waiting 3 s, longer than the lease's TTL)"
sleep 3
run vcctl lease show 1003.pbs.example.org --history

say "Pools afterwards: the released VLANs wait in quarantine"
run vcctl pool show

# The data plane, where the machine allows it (contrib/demo/dataplane.sh says why not).
contrib/demo/dataplane.sh
