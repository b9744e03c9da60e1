#!/usr/bin/env bash
# Resumes (or starts) the Tetrominoes training run in the background, from the
# committed checkpoint when runs/tet1 is not there: the command in
# weights/README.md. Stop it with `kill -INT $(cat runs/tet1/train.pid)`:
# it finishes the step and writes its checkpoint. Then
# `weights/update-from-run.sh runs/tet1 tetrominoes` and commit weights/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${IODINE_BUILD:-build}
run=runs/tet1
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" engine/iodine-train engine/iodine >/dev/null
mkdir -p "$run"
if [ ! -f "$run/tet.ckpt" ] && [ -f weights/checkpoints/tetrominoes.ckpt.safetensors ]; then
  cp weights/checkpoints/tetrominoes.ckpt.safetensors "$run/tet.ckpt"
  cp weights/tetrominoes/train.csv "$run/train.csv"
fi
cp "$build/engine/iodine-train" "$run/iodine-train"
cd "$run"
if [ -f tet.ckpt ]; then
  start=(--resume tet.ckpt)
else
  start=(--config tetrominoes --batch 8 --lr 3e-4 --warmup 200 --seed 11)
fi
nohup ./iodine-train "${start[@]}" --threads "${IODINE_THREADS:-0}" --steps 200000 \
  --log train.csv --log-every 10 --validate-every 250 --val-count 32 \
  --plot curve.png --sheet sheet.png --checkpoint tet.ckpt --checkpoint-every 50 \
  --out tetrominoes.safetensors >> train.log 2>&1 &
echo $! > train.pid
echo "training in the background (pid $!); progress: tail -f $run/train.log"
