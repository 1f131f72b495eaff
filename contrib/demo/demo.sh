#!/usr/bin/env bash
# make demo: a lease's whole life through vcctl against a real leasesrv and
# Redis on loopback, with each site's switch emulated by the project's own
# emulators (contrib/demo/switches: an SNMP agent, SSH CLIs of Cisco IOS and
# Junos), so commits, drift and repairs show on the devices. Starts what it
# needs and stops all of it again.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim python3=python3
work=$(mktemp -d)
chmod 0755 "$work" # snmpsimd drops to nobody and reads below it
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

# The switches: the configuration names them; the helper fills in the SNMP
# agent's port and the SSH emulators' host keys. It holds tokens and
# passwords: leasesrv refuses a file that others may read.
go build -o "$work/switches" ./contrib/demo/switches
install -m 0600 contrib/demo/virtcloud.toml "$work/base.toml"
CONF=$work/virtcloud.toml
"$work/switches" serve "$work/base.toml" "$CONF" 2>"$work/switches.log" &
pids+=($!)
for _ in $(seq 600); do [ -e "$CONF" ] && break; kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.1; done
[ -e "$CONF" ] || { cat "$work/switches.log"; echo "demo: the switches did not start" >&2; exit 1; }

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
for _ in $(seq 100); do curl -sf "$VIRTCLOUD_SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
vcctl() { bin/vcctl "$@"; }
page() {
  printf '\033[1mStatus page: %s/ui/  (sign in with the viewer token demo-viewer-secret-not-for-production)\033[0m\n' "$VIRTCLOUD_SERVER"
}
# by_hand SWITCH VLAN +PORT|-PORT: a change made on the device itself, through
# its own protocol, behind the lease server's back.
by_hand() { "$work/switches" change "$CONF" "$@"; }
# vlan_of JOB: the lease's VLAN.
vlan_of() { bin/vcctl -o json lease show "$1" | sed -n 's/^  "vlan": \([0-9]*\),$/\1/p'; }
page

say "The sites' pools: brno 100-149 (not 120), praha 130-179, plzen 140-149 and 300-320"
run vcctl pool show

say "One switch per site: brno over SNMP, praha a Cisco IOS and plzen a Junos over SSH"
run vcctl switch list

say "A cluster job spanning brno and praha gets a VLAN free at both (130-149)"
run vcctl lease create --job 1001.pbs.example.org --owner alice --host skirit82-1 --host skurut9-1 --ttl 2h
v1=$(vlan_of 1001.pbs.example.org)

say "Commit: both switches carry VLAN $v1 on exactly the hosts' ports and the uplinks; plzen has nothing"
run vcctl lease commit 1001.pbs.example.org
run vcctl switch show brno-sw1 --vlan "$v1"
run vcctl switch show praha-sw1 --vlan "$v1"
run vcctl switch show plzen-sw1 --vlan "$v1"

say "A second cluster over all three sites must find a VLAN free at brno, praha and plzen (140-149)"
run vcctl lease create --job 1002.pbs.example.org --owner bob --host skirit83-1 --host skurut10-1 --host konos23-1
run vcctl lease commit 1002.pbs.example.org
v2=$(vlan_of 1002.pbs.example.org)
run vcctl switch show plzen-sw1 --vlan "$v2"
run vcctl lease list
run vcctl pool show

say "Someone changes the switches by hand: VLAN 310 on a free plzen port, VLAN $v1 off a praha host, VLAN $v2 on another brno port"
run by_hand plzen-sw1 310 +ge-0/0/5
run by_hand praha-sw1 "$v1" -Gi1/0/9
run by_hand brno-sw1 "$v2" +Ethernet7

say "The audit compares every switch with what the live leases explain, and finds all three"
run vcctl audit || echo "(exit status $?: drift found)"

say "An administrator repairs it; the next audit finds nothing"
run vcctl audit --fix
run vcctl audit
run vcctl switch show praha-sw1 --vlan "$v1"

say "Renew: the job's walltime was extended"
run vcctl lease renew 1001.pbs.example.org --ttl 4h

say "Release by the job's epilogue: the switches drop VLAN $v1, which goes into quarantine before reuse"
run vcctl lease release 1001.pbs.example.org
run vcctl switch show brno-sw1 --vlan "$v1"

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

page
if [ -t 0 ]; then
  read -r -p "The lease server and the switches stay up until you press Enter. " _ || true
fi

# The data plane, where the machine allows it (contrib/demo/dataplane.sh says
# why not); VIRTCLOUD_DEMO_DATAPLANE=no leaves it out (the demo phase's check).
[ "${VIRTCLOUD_DEMO_DATAPLANE:-yes}" = no ] || contrib/demo/dataplane.sh
