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
need_peer openpbs; case $? in 1) exit 1 ;; 2) exit 0 ;; esac
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim python3=python3 || exit 1
"$PEER/install.sh" >/dev/null || { echo "openpbs: 0 passed, 1 failed (install.sh)"; exit 1; }
make build >/dev/null || exit 1
O=/tmp/openpbs
# Under /tmp: the MoM copies job output there itself ($usecp).
work=$(mktemp -d /tmp/vc-openpbs-test-XXXXXX) && chmod 755 "$work" || exit 1
log=$work/test.log
cleanup() { stop_second_mom; "$O/stop.sh" --clean-net >/dev/null 2>&1; [ "${rc:-1}" -eq 0 ] && rm -rf "$work"; }
trap cleanup EXIT
# second_mom starts a second MoM, node opbs-host2 (10.254.254.2 in the
# namespace), with its own PBS_HOME and ports, for jobs with a sister.
second_mom() {
  local H2=opbs-host2 A2=10.254.254.2 home=$O/home2 i
  ip -n opbs -4 addr show dev opbs0 | grep -q "inet $A2/" || ip -n opbs addr add $A2/24 dev opbs0 || return 1
  grep -Eq "^$A2[[:space:]]+$H2([[:space:]]|\$)" /etc/hosts || echo "$A2 $H2" >> /etc/hosts
  rm -rf "$home" && mkdir -p "$home" || return 1
  for d in mom_priv/jobs mom_priv/hooks mom_logs spool undelivered aux checkpoint; do
    mkdir -p "$home/$d" || return 1
  done
  chmod 1777 "$home/spool" "$home/undelivered"
  cp "$O/home/mom_priv/config" "$home/mom_priv/config"
  cp "$O/home/pbs_environment" "$O/home/pbs_version" "$home/"
  sed -e "s#^PBS_HOME=.*#PBS_HOME=$home#" -e "s#^PBS_MOM_NODE_NAME=.*#PBS_MOM_NODE_NAME=$H2#" \
      -e "s#^PBS_LEAF_NAME=.*#PBS_LEAF_NAME=$H2#" -e 's#^PBS_START_\(SERVER\|SCHED\|COMM\)=.*#PBS_START_\1=0#' \
      "$O/pbs.conf" > "$O/pbs2.conf" && echo "PBS_LEAF_ROUTERS=opbs-host" >> "$O/pbs2.conf" || return 1
  ip netns exec opbs unshare --uts /bin/sh -c "hostname $H2 && PBS_CONF_FILE=$O/pbs2.conf exec $O/pbs/sbin/pbs_mom -M 15012 -R 15013" || return 1
  "$O/nsrun" qmgr -c "create node $H2 port=15012" >/dev/null || return 1
  for i in $(seq 60); do "$O/nsrun" pbsnodes $H2 2>/dev/null | grep -q 'state = free' && return 0; sleep 1; done
  "$O/nsrun" pbsnodes $H2; tail -20 "$home"/mom_logs/* 2>/dev/null
  return 1
}
stop_second_mom() {
  local pid
  pid=$(head -1 "$O/home2/mom_priv/mom.lock" 2>/dev/null) && [ "$(readlink /proc/$pid/exe)" = "$O/pbs/sbin/pbs_mom" ] && kill "$pid"
  local t; t=$(mktemp)   # /etc/hosts may be a mount point: rewrite it in place
  grep -v '^10\.254\.254\.2[[:space:]]\+opbs-host2' /etc/hosts > "$t" && cat "$t" > /etc/hosts; rm -f "$t"
}
CGO_ENABLED=0 go test -c -tags openpbstest -o "$work/hooks.test" ./hooks/ || exit 1
RESET=1 MOM_ENV="VIRTCLOUD_BIN=$work/sbin VIRTCLOUD_CONFIG=$work/etc/virtcloud.toml" "$O/start.sh" >"$work/start.log" 2>&1 ||
  { cat "$work/start.log"; echo "openpbs: 0 passed, 1 failed (start.sh)"; exit 1; }
second_mom || { echo "openpbs: 0 passed, 1 failed (second MoM)"; exit 1; }
(cd hooks && "$O/nsrun" env VIRTCLOUD_OPENPBS_SECOND=opbs-host2 VIRTCLOUD_TEST_BIN="$PWD/../bin" VIRTCLOUD_WORK="$work" \
  "$work/hooks.test" -test.run '^TestRealOpenPBS$' -test.count=1 -test.timeout 8m -test.v) >"$log" 2>&1
rc=$?
go_test_summary openpbs "$log" $rc
