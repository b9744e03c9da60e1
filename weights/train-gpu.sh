#!/usr/bin/env bash
# One segment of a shipped model's run on a lent GPU machine, with the
# project's PyTorch reference of the spec (tests/reference/train_ref.py: the
# same model and loss; its data from tests/reference/datasets_ref.py, the
# engine's generators to the bit): resumes from the run's checkpoint, trains
# for SECONDS of wall time, and writes the checkpoint and its log to $OUT
# (the device tool brings them back).
#   weights/train-gpu.sh [NAME] [SECONDS] [BATCH]
#     NAME: tetrominoes (default), multi-dsprites or general; SECONDS 420;
#     BATCH 32
# The checkpoint is runs/RUN/CKPT when the device call carries runs/RUN
# (the latest state), else the committed weights/checkpoints/NAME.ckpt.safetensors.
# The segment follows the C run's dataset, seed, learning-rate schedule and
# GECO state. Then, here, with the C run stopped (kill -INT):
#   cp FETCHED/NAME.ckpt.safetensors runs/RUN/CKPT
#   weights/train.sh NAME                           (iodine-train resumes from it)
# The checkpoint's train_ref_segments metadata lists every GPU segment.
# DEVICE=cpu runs the same on the CPU (to try the script).
set -euo pipefail
cd "$(dirname "$0")/.."
case ${1:-tetrominoes} in
  [0-9]*) name=tetrominoes ;;   # the old form: train-gpu.sh [SECONDS] [BATCH]
  *) name=${1:-tetrominoes}; shift || true ;;
esac
case $name in
  tetrominoes) run=runs/tet1 ckpt=tet.ckpt ;;
  multi-dsprites) run=runs/mds1 ckpt=mds.ckpt ;;
  general) run=runs/gen2 ckpt=gen.ckpt ;;
  *) echo "train-gpu.sh: no run is defined for '$name'" >&2; exit 2 ;;
esac
seconds=${1:-420}
batch=${2:-32}
out=${OUT:?set OUT to the folder that comes back}
python=${PYTHON:-python3}
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
src=weights/checkpoints/$name.ckpt.safetensors
[ -f "$run/$ckpt" ] && src=$run/$ckpt
[ -f "$src" ] || { echo "train-gpu.sh: no checkpoint of $name ($src)" >&2; exit 2; }
echo "resuming $name from $src"
cp "$src" "$out/$name.ckpt.safetensors"
PYTHONUNBUFFERED=1 "$python" tests/reference/train_ref.py --resume --out "$out/$name.ckpt.safetensors" \
  --device "${DEVICE:-cuda}" --batch "$batch" --steps 100000000 \
  --seconds "$seconds" --save-every 1000 --log "$out/$name-gpu.csv"
