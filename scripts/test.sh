#!/usr/bin/env bash
# test.sh [PHASE...]: runs the test phases in scripts/phases in order (or only
# those named), one at a time, and prints how long each took. The phases that
# boot a VM, start Slurm or kill Redis never run side by side: 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
phases=()
if [ $# -gt 0 ]; then
  for p in "$@"; do phases+=(scripts/phases/*-"$p".sh); done
else
  phases=(scripts/phases/*.sh)
fi
declare -a summary
pass=0 fail=0 notrun=0 start_all=$SECONDS
for f in "${phases[@]}"; do
  name=$(basename "$f" .sh); name=${name#*-}
  echo "=== phase $name"
  t0=$SECONDS
  # A phase exits 77 when what it needs cannot be had here (a real resource
  # manager's build beside the clone, say) and said why: "not run".
  bash "$f"; rc=$?
  case $rc in
    0) r=ok; pass=$((pass+1)) ;;
    77) r="NOT RUN"; notrun=$((notrun+1)) ;;
    *) r=FAILED; fail=$((fail+1)) ;;
  esac
  summary+=("$(printf '%-12s %-7s %5ds' "$name" "$r" $((SECONDS-t0)))")
  echo "=== phase $name: $r in $((SECONDS-t0))s"
done
echo
echo "phase        result   time"
printf '%s\n' "${summary[@]}"
echo "total $((SECONDS-start_all))s"
echo "phases: $pass passed, $fail failed, $notrun not run"
[ "$notrun" -eq 0 ] || echo "NOT RUN phases did not test what they are for on this machine: see their output above"
[ "$fail" -eq 0 ]
