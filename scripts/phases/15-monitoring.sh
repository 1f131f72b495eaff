#!/usr/bin/env bash
# contrib/monitoring: the alert rules pass `promtool check rules` and their
# unit tests (`promtool test rules`, every alert firing and quiet), the
# dashboard's queries parse as PromQL, and every metric name the rules and
# the dashboard use is one a real lease server exports (a Go test scrapes
# one running on real Redis, SNMP and SSH switch peers).
set -uo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh promtool=prometheus redis-server=redis-server snmpsimd=snmpsim python3=python3 || exit 1
dir=contrib/monitoring
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # check NAME COMMAND...: one counted step, its output shown on failure
  if "${@:2}" >"$tmp/out" 2>&1; then
    pass=$((pass+1)); echo "ok   $1"
  else
    fail=$((fail+1)); echo "FAIL $1"; sed 's/^/     /' "$tmp/out"
  fi
}
check "promtool check rules" promtool check rules "$dir/virtcloud-alerts.yml"
check "promtool test rules" promtool test rules "$dir/virtcloud-alerts.test.yml"
# Each panel query becomes a recording rule, so promtool parses it; Grafana's
# own variables are replaced by values they take.
python3 - "$dir/virtcloud-dashboard.json" >"$tmp/dashboard-rules.yml" <<'PY'
import json, sys
exprs = []
def walk(v):
    if isinstance(v, dict):
        if isinstance(v.get("expr"), str):
            exprs.append(v["expr"])
        for c in v.values():
            walk(c)
    elif isinstance(v, list):
        for c in v:
            walk(c)
walk(json.load(open(sys.argv[1])))
subst = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$site": ".*"}
rules = []
for i, e in enumerate(exprs):
    for k, v in subst.items():
        e = e.replace(k, v)
    rules.append({"record": "dashboard:panel_%d" % i, "expr": e})
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, sys.stdout, indent=1)
PY
check "dashboard queries parse ($(grep -c '"record"' "$tmp/dashboard-rules.yml") queries)" promtool check rules "$tmp/dashboard-rules.yml"
check "metric names exported by leasesrv" go test -count=1 -v -run TestQueriesUseExportedMetrics "./$dir/"
grep -h 'metric names checked' "$tmp/out" || true
echo "monitoring: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
