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
cleanup() { "$O/stop.sh" --clean-net >/dev/null 2>&1; [ "${rc:-1}" -eq 0 ] && rm -rf "$work"; }
trap cleanup EXIT
CGO_ENABLED=0 go test -c -tags openpbstest -o "$work/hooks.test" ./hooks/ || exit 1
RESET=1 MOM_ENV="VIRTCLOUD_BIN=$work/sbin VIRTCLOUD_CONFIG=$work/etc/virtcloud.toml" "$O/start.sh" >"$work/start.log" 2>&1 ||
  { cat "$work/start.log"; echo "openpbs: 0 passed, 1 failed (start.sh)"; exit 1; }
(cd hooks && "$O/nsrun" env VIRTCLOUD_TEST_BIN="$PWD/../bin" VIRTCLOUD_WORK="$work" \
  "$work/hooks.test" -test.run '^TestRealOpenPBS$' -test.count=1 -test.timeout 8m -test.v) >"$log" 2>&1
rc=$?
go_test_summary openpbs "$log" $rc
