#!/usr/bin/env bash
# Resumes (or starts) the training run of one shipped model in the
# background: from the committed checkpoint weights/checkpoints/NAME.ckpt.safetensors
# when runs/RUN is not there, else from the run's own checkpoint.
#   weights/train.sh tetrominoes|multi-dsprites|general [IODINE-TRAIN OPTIONS]
# Options after the name go to iodine-train; on a resumed run they may change
# the learning rate, its schedule, --clip, GECO and --size (kept in train_history).
# IODINE_RUN=DIR trains in DIR instead of the model's run (a fork: copy the
# run's checkpoint and train.csv there first).
# IODINE_THREADS sets the engine's threads (0: all cores). Stop it with
# `kill -INT $(cat runs/RUN/train.pid)`: it finishes the step and writes its
# checkpoint. Then `weights/update-from-run.sh runs/RUN NAME` and commit weights/.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: weights/train.sh tetrominoes|multi-dsprites|general}
case $name in
  # the first run (session 1); its files keep their names
  tetrominoes) run=runs/tet1 ckpt=tet.ckpt seed=11 ;;
  multi-dsprites) run=runs/mds1 ckpt=mds.ckpt seed=12 ;;
  # the general model starts from the committed Tetrominoes checkpoint
  # (step 28,639) and is fine-tuned on scenes (weights/README.md); run gen1,
  # the first attempt from scratch with an LSTM, is history
  general) run=runs/gen2 ckpt=gen.ckpt seed=13 ;;
  *) echo "train.sh: no run is defined for '$name'" >&2; exit 2 ;;
esac
shift
run=${IODINE_RUN:-$run}
build=${IODINE_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" engine/iodine-train engine/iodine >/dev/null
mkdir -p "$run"
if [ ! -f "$run/$ckpt" ] && [ -f "weights/checkpoints/$name.ckpt.safetensors" ]; then
  cp "weights/checkpoints/$name.ckpt.safetensors" "$run/$ckpt"
  cp "weights/$name/train.csv" "$run/train.csv"
fi
# a copy of the binary, so that rebuilding the tree does not touch the run
cp "$build/engine/iodine-train" "$run/iodine-train"
root=$PWD
cd "$run"
if [ -f "$ckpt" ]; then
  start=(--resume "$ckpt")
else
  start=(--config "$name" --batch 8 --lr 3e-4 --warmup 200 --seed "$seed")
  if [ "$name" = general ]; then
    cp "$root/weights/checkpoints/tetrominoes.ckpt.safetensors" init-tetrominoes.safetensors
    start=(--init init-tetrominoes.safetensors --dataset scenes --size 64x64 --slots 6
           --batch 8 --lr 3e-4 --warmup 200 --seed "$seed")
  fi
fi
nohup ./iodine-train "${start[@]}" --threads "${IODINE_THREADS:-0}" --steps 200000 \
  --log train.csv --log-every 10 --validate-every 250 --val-count ${IODINE_VAL_COUNT:-32} \
  --plot curve.png --sheet sheet.png --checkpoint "$ckpt" --checkpoint-every 50 \
  --out "$name.safetensors" "$@" >> train.log 2>&1 &
echo $! > train.pid
echo "training $name in the background (pid $!); progress: tail -f $run/train.log"
