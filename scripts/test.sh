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
pass=0 fail=0 start_all=$SECONDS
for f in "${phases[@]}"; do
  name=$(basename "$f" .sh); name=${name#*-}
  echo "=== phase $name"
  t0=$SECONDS
  if bash "$f"; then r=ok; pass=$((pass+1)); else r=FAILED; fail=$((fail+1)); fi
  summary+=("$(printf '%-12s %-7s %5ds' "$name" "$r" $((SECONDS-t0)))")
  echo "=== phase $name: $r in $((SECONDS-t0))s"
done
echo
echo "phase        result   time"
printf '%s\n' "${summary[@]}"
echo "total $((SECONDS-start_all))s"
echo "phases: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
