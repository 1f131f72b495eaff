# Sourced by the phases that run a real resource manager. Not a phase
# itself: test.sh runs only scripts/phases/*.sh.

# need_peer NAME: sets PEER to ../shared/peers/NAME (beside the clone) and
# returns 0 when it is there. Without it, prints that the phase did not run
# and why, and returns 2 (the phase exits 77, which test.sh reports as not
# run), or 1 in CI (CI=true), where its absence is a failure.
need_peer() {
  local name=$1 dir
  dir=$(git rev-parse --show-toplevel)/../shared/peers/$name
  if [ -x "$dir/install.sh" ]; then
    PEER=$(cd "$dir" && pwd)
    return 0
  fi
  if [ "${CI:-}" = true ]; then
    echo "$name: $dir/install.sh is missing; CI has ../shared/peers beside the clone"
    echo "$name: 0 passed, 1 failed"
    return 1
  fi
  echo "$name: NOT RUN: no real $name build in ../shared/peers beside this clone (see hooks/README.md, Tests)"
  echo "$name: 0 passed, 0 failed, not run"
  return 2
}

# go_test_summary NAME LOG RC: prints the top-level results of a verbose
# go test log and the line `NAME: N passed, M failed`; returns RC.
go_test_summary() {
  local name=$1 log=$2 rc=$3 groups='Test[A-Za-z]+ \(|/cases \(|/others \(|/group \(' pass fail
  grep -E '^\s*--- (PASS|FAIL)|^(ok|FAIL|PASS|panic)' "$log"
  if [ "$rc" -ne 0 ]; then
    tail -n 80 "$log"
    # The cases' own words, which the daemons' log dumps above may push
    # out of the tail.
    echo "--- $name: what the failing checks said"
    grep -E '^\s+[a-z_]+_test\.go:[0-9]+: ' "$log" | grep -vE '_test\.go:[0-9]+: (--- |work directory kept)' | tail -n 40
  fi
  pass=$(grep -E '^\s*--- PASS: ' "$log" | grep -vcE "$groups")
  fail=$(grep -E '^\s*--- FAIL: ' "$log" | grep -vcE "$groups")
  [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
  echo "$name: $pass passed, $fail failed"
  return "$rc"
}
