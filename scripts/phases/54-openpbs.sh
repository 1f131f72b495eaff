#!/usr/bin/env bash
# The hook under a real OpenPBS 23.06 (../shared/peers/openpbs, installed at
# /tmp/openpbs): server, scheduler, comm, MoM and datastore in the network
# namespace "opbs", the MoM's environment naming this run's binaries and
# configuration (VIRTCLOUD_BIN, VIRTCLOUD_CONFIG), the hook installed from
# hooks/README.md's lines; the test itself, with the real leasesrv, Redis and
# snmpsimd agents, runs inside the namespace too. The cases:
# hooks/pbs_real_test.go.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/phases/lib/real-manager.sh
need_peer openpbs; case $? in 1) exit 1 ;; 2) exit 77 ;; esac
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim python3=python3 || exit 1
"$PEER/install.sh" >/dev/null || { echo "openpbs: 0 passed, 1 failed (install.sh)"; exit 1; }
make build >/dev/null || exit 1
O=/tmp/openpbs
# Under /tmp: the MoM copies job output there itself ($usecp).
work=$(mktemp -d /tmp/vc-openpbs-test-XXXXXX) && chmod 755 "$work" || exit 1
log=$work/test.log
# The second compute host: a second MoM, node opbs-host-2 at 10.254.254.2
# inside the namespace, with its own PBS_HOME, ports and hooks' configuration
# (its own spool), for jobs with a sister node.
H2=opbs-host-2 A2=10.254.254.2 P2=15011
cleanup() {
  "$O/stop.sh" --clean-net >/dev/null 2>&1 # stops the second MoM too: it runs this install's pbs_mom
  if grep -q "^$A2 $H2\$" /etc/hosts; then t=$(grep -v "^$A2 $H2\$" /etc/hosts) && printf '%s\n' "$t" >/etc/hosts; fi
  [ "${rc:-1}" -eq 0 ] && rm -rf "$work"
}
trap cleanup EXIT
CGO_ENABLED=0 go test -c -tags openpbstest -o "$work/hooks.test" ./hooks/ || exit 1
RESET=1 MOM_ENV="VIRTCLOUD_BIN=$work/sbin VIRTCLOUD_CONFIG=$work/etc/virtcloud.toml" "$O/start.sh" >"$work/start.log" 2>&1 ||
  { cat "$work/start.log"; echo "openpbs: 0 passed, 1 failed (start.sh)"; exit 1; }
second_mom() {
  local home=$work/mom2
  mkdir -p "$home"/mom_priv/jobs "$home"/mom_priv/hooks/tmp "$home"/mom_logs "$home"/spool "$home"/undelivered "$home"/aux "$home"/checkpoint &&
    chmod 751 "$home"/mom_priv "$home"/mom_priv/jobs && chmod 750 "$home"/mom_priv/hooks "$home"/mom_priv/hooks/tmp &&
    chmod 1777 "$home"/spool "$home"/undelivered || return 1
  cp "$O/home/mom_priv/config" "$home/mom_priv/config"
  sed "s|^VIRTCLOUD_CONFIG=.*|VIRTCLOUD_CONFIG=$work/etc2/virtcloud.toml|" "$O/home/pbs_environment" >"$home/pbs_environment"
  sed -e "s|^PBS_HOME=.*|PBS_HOME=$home|" -e 's/^\(PBS_START_[A-Z]*\)=1/\1=0/' -e 's/^PBS_START_MOM=0/PBS_START_MOM=1/' \
    -e "s/^PBS_MOM_NODE_NAME=.*/PBS_MOM_NODE_NAME=$H2/" -e "s/^PBS_LEAF_NAME=.*/PBS_LEAF_NAME=$H2/" "$O/pbs.conf" >"$home/pbs.conf"
  printf 'PBS_MOM_SERVICE_PORT=%s\nPBS_MANAGER_SERVICE_PORT=%s\n' $P2 $((P2 + 1)) >>"$home/pbs.conf"
  ip -n opbs addr add $A2/24 dev opbs0 || return 1
  grep -q "^$A2 $H2\$" /etc/hosts || echo "$A2 $H2" >>/etc/hosts
  "$O/nsrun" env PBS_CONF_FILE="$home/pbs.conf" "$O/pbs/sbin/pbs_mom" && "$O/nsrun" qmgr -c "create node $H2 port=$P2" || return 1
  for _ in $(seq 60); do
    "$O/nsrun" pbsnodes $H2 2>/dev/null | grep -Eq '^[[:space:]]*state = free' && return 0
    sleep 1
  done
  "$O/nsrun" pbsnodes $H2
  return 1
}
second_mom >"$work/mom2.log" 2>&1 || { cat "$work/mom2.log"; echo "openpbs: 0 passed, 1 failed (second MoM)"; exit 1; }
# The cases run side by side: eight jobs at once on each host (Torque's np=4
# and Slurm's OverSubscribe do the same).
for n in opbs-host $H2; do "$O/nsrun" qmgr -c "set node $n resources_available.ncpus = 8" || exit 1; done
(cd hooks && "$O/nsrun" env VIRTCLOUD_TEST_BIN="$PWD/../bin" VIRTCLOUD_WORK="$work" \
  "$work/hooks.test" -test.run '^TestRealOpenPBS$' -test.count=1 -test.timeout 8m -test.v) >"$log" 2>&1
rc=$?
go_test_summary openpbs "$log" $rc
