#!/usr/bin/env bash
# Every shipped weights file still segments as well as when it was shipped:
# `iodine eval` on a fixed set of generated scenes (a seed that training never
# reads), with the line's restarts, must reach the floor recorded in
# weights/fgari-floors.tsv. An engine change that breaks the weights (layouts,
# a layer, the likelihood) or the choice among restarts fails here.
set -euo pipefail
src=${IODINE_SOURCE_DIR:?}
bin=${IODINE_BUILD_DIR:?}/engine/iodine
floors=$src/weights/fgari-floors.tsv
export IODINE_THREADS=${IODINE_THREADS:-2}
checked=0 failed=0
while IFS=$'\t' read -r name scenes seed restarts measured floor; do
  case $name in ''|'#'*) continue ;; esac
  w=$src/weights/$name.safetensors
  if [ ! -f "$w" ]; then
    echo "FAIL: $name has a floor in fgari-floors.tsv but $w is missing"
    failed=$((failed + 1)); continue
  fi
  out=$("$bin" eval --weights "$w" --count "$scenes" --seed "$seed" --restarts "$restarts")
  got=$(awk '$1 == "FG-ARI" { print $2 }' <<<"$out")
  if [ -z "$got" ]; then
    echo "FAIL: no FG-ARI in the output of iodine eval for $name:"; echo "$out"
    failed=$((failed + 1)); continue
  fi
  if awk -v g="$got" -v f="$floor" 'BEGIN { exit !(g + 0 >= f + 0) }'; then
    echo "ok: $name FG-ARI $got ≥ floor $floor (measured $measured when shipped; $scenes scenes, seed $seed, $restarts restarts)"
  else
    echo "FAIL: $name FG-ARI $got < floor $floor (measured $measured when shipped; $scenes scenes, seed $seed, $restarts restarts)"
    failed=$((failed + 1))
  fi
  checked=$((checked + 1))
done < "$floors"
# Every shipped file must have a floor: a file without one is untested.
for w in "$src"/weights/*.safetensors; do
  [ -e "$w" ] || continue
  n=$(basename "$w" .safetensors)
  if ! grep -q "^$n	" "$floors"; then
    echo "FAIL: weights/$n.safetensors is shipped but has no line in fgari-floors.tsv"
    failed=$((failed + 1))
  fi
done
echo "$checked weights files checked, $failed failures"
[ "$failed" -eq 0 ] && [ "$checked" -gt 0 ]
