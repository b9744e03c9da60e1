#!/usr/bin/env bash
# One segment of the Tetrominoes run on a lent GPU machine, with the
# project's PyTorch reference of the spec (tests/reference/train_ref.py, the
# same model, loss and data distribution as the C trainer): resumes from the
# committed C checkpoint, trains for SECONDS of wall time, and writes the
# checkpoint and its log to $OUT (the device tool brings them back).
#   weights/train-gpu.sh [SECONDS] [BATCH]          (on the device; defaults 420, 32)
# Then, here, with the C run stopped:
#   cp FETCHED/tetrominoes.ckpt.safetensors runs/tet1/tet.ckpt
#   weights/train.sh tetrominoes                    (iodine-train resumes from it)
# The checkpoint's train_ref_segments metadata lists every GPU segment.
# DEVICE=cpu runs the same on the CPU (to try the script).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-420}
batch=${2:-32}
out=${OUT:?set OUT to the folder that comes back}
python=${PYTHON:-python3}
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
ckpt=weights/checkpoints/tetrominoes.ckpt.safetensors
# the run's latest state when this tree has one, else the committed checkpoint
[ -f runs/tet1/tet.ckpt ] && ckpt=runs/tet1/tet.ckpt
cp "$ckpt" "$out/tetrominoes.ckpt.safetensors"
"$python" tests/reference/train_ref.py --resume --out "$out/tetrominoes.ckpt.safetensors" \
  --device "${DEVICE:-cuda}" --batch "$batch" --lr 3e-4 --steps 100000000 \
  --seconds "$seconds" --save-every 1000 --log "$out/tetrominoes-gpu.csv"
