#!/usr/bin/env bash
# Copies a training run's state into weights/: the checkpoint (to resume in a
# later session), the shipped weights without optimizer state, the CSV log
# and the curve.   weights/update-from-run.sh RUN_DIR NAME
#   RUN_DIR holds NAME's checkpoint tet.ckpt (or ckpt), train.csv, curve.png
#   weights/update-from-run.sh --checkpoint-only RUN_DIR NAME
#   keeps only the checkpoint and the log: for a run too early to ship (the
#   plug-in would offer its weights, and the general model is its default)
set -euo pipefail
only_ckpt=
if [ "${1:-}" = --checkpoint-only ]; then only_ckpt=1; shift; fi
run=$1
name=$2
here=$(cd "$(dirname "$0")" && pwd)
build=${IODINE_BUILD:-$here/../build}
# exactly one checkpoint: a second one (a backup, a fork) would be a guess
ckpts=("$run"/*.ckpt)
if [ ${#ckpts[@]} -ne 1 ] || [ ! -f "${ckpts[0]}" ]; then
  echo "update-from-run.sh: $run must hold exactly one *.ckpt, found: ${ckpts[*]}" >&2
  exit 2
fi
ckpt=${ckpts[0]}
mkdir -p "$here/checkpoints" "$here/$name"
cp "$ckpt" "$here/checkpoints/$name.ckpt.safetensors.tmp"
mv "$here/checkpoints/$name.ckpt.safetensors.tmp" "$here/checkpoints/$name.ckpt.safetensors"
cp "$run/train.csv" "$here/$name/train.csv"
[ -f "$run/curve.png" ] && cp "$run/curve.png" "$here/$name/curve.png"
[ -f "$run/sheet.png" ] && cp "$run/sheet.png" "$here/$name/validation-sheet.png"
if [ -n "$only_ckpt" ]; then
  "$build/engine/iodine" info "$here/checkpoints/$name.ckpt.safetensors" | grep -E "train_steps|fg_ari" || true
  exit 0
fi
step=$("$build/engine/iodine" info "$ckpt" | awk '$1 == "train_steps" { print $2 }')
# The iterations the shipped weights run with by default. A model trained
# with T iterations segments better at test time with up to 2-3 T (the
# paper's Fig. 8); measured per model in weights/README.md (Tetrominoes,
# trained with T 5: FG-ARI 0.855 at T 5, 0.899 at T 10 on 500 scenes).
case $name in
  # Multi-dSprites (T 5 in training) at step 33,799: 0.692 at T 5, 0.718 at
  # T 10 on 200 scenes
  tetrominoes|multi-dsprites) out_iterations=(--out-iterations 10) ;;
  *) out_iterations=() ;;
esac
# --steps equal to the checkpoint's step: no training, only --out
IODINE_NO_REEXEC=1 "$build/engine/iodine-train" --resume "$here/checkpoints/$name.ckpt.safetensors" \
  --steps "${step:-0}" --out "$here/$name.safetensors" "${out_iterations[@]}" >/dev/null
"$build/engine/iodine" info "$here/$name.safetensors"
# The FG-ARI floors that tests/weights/test-shipped-weights.sh checks, one per
# line of this name: measured on the same scenes and restarts as before (100,
# seed 4242, one run for a new file; general: 40, its decoder is 3× the
# cost), floor 0.03 below.
floors=$here/fgari-floors.tsv
lines=$(awk -F'\t' -v n="$name" '$1 == n' "$floors")
[ -n "$lines" ] || lines=$(printf '%s\t100\t4242\t1' "$name")
new=
while IFS=$'\t' read -r _ scenes seed restarts _; do
  got=$("$build/engine/iodine" eval --weights "$here/$name.safetensors" --count "$scenes" \
          --seed "$seed" --restarts "$restarts" | awk '$1 == "FG-ARI" { print $2 }')
  floor=$(awk -v g="$got" 'BEGIN { f = g - 0.03; if (f < 0) f = 0; printf "%.4f", f }')
  new+=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$name" "$scenes" "$seed" "$restarts" "$got" "$floor")$'\n'
  echo "FG-ARI on $scenes scenes (seed $seed, $restarts restarts): $got; floor now $floor"
done <<<"$lines"
{ grep -v "^$name	" "$floors"; printf '%s' "$new"; } > "$floors.tmp"
mv "$floors.tmp" "$floors"
