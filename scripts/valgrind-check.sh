#!/bin/sh
# Valgrind memcheck on one `iodine decompose` run of a tiny model (made with
# `iodine-train --steps 0`, outside valgrind): no invalid read or write, no
# use of uninitialised values, no definite leak. Exit 0 when clean, 1 when
# valgrind reports an error, 77 (skipped) without valgrind.
#
#   scripts/valgrind-check.sh [BUILD_DIR]
#
# BUILD_DIR defaults to $IODINE_BUILD_DIR (set by meson test), else build/.
# It must be a build without sanitizers: valgrind cannot run ASan binaries.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${IODINE_BUILD_DIR:-$src/build}}
iodine=$build/engine/iodine
train=$build/engine/iodine-train

if ! command -v valgrind >/dev/null 2>&1; then
  echo "SKIP: valgrind is not installed"
  exit 77
fi
for exe in "$iodine" "$train"; do
  [ -x "$exe" ] || { echo "no $exe: build first (ninja -C $build)" >&2; exit 1; }
done

w=$(mktemp -d "${TMPDIR:-/tmp}/iodine-valgrind.XXXXXX")
trap 'rm -rf "$w"' EXIT

export OPENBLAS_NUM_THREADS=1
# Valgrind does not decode AVX-512: keep OpenBLAS on its AVX2 kernels (this
# also stops iodine from re-executing itself with SkylakeX ones).
export OPENBLAS_CORETYPE=Haswell

"$train" --steps 0 --size 16x16 --slots 2 --iterations 2 --latent 4 --dec-channels 4 \
  --ref-channels 4 --mlp 8 --out "$w/w.safetensors" 2>"$w/train.err" \
  || { cat "$w/train.err"; exit 1; }

# An RGBA PNG (alpha compositing), resized to the model's 16×16, three
# slots (not the weights' default), both kinds of output.
set +e
valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
  --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --track-origins=yes --num-callers=30 \
  "$iodine" decompose -w "$w/w.safetensors" --slots 3 --iterations 2 \
  "$src/tests/data/images/rgba.png" -o "$w/out.safetensors" --png-dir "$w/png" \
  >"$w/out" 2>"$w/valgrind.log"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  cat "$w/valgrind.log"
  echo "FAIL: valgrind memcheck (exit $rc)"
  exit 1
fi
if [ ! -s "$w/out.safetensors" ] || [ ! -s "$w/png/overview.png" ]; then
  cat "$w/out" "$w/valgrind.log"
  echo "FAIL: the decomposition under valgrind wrote nothing"
  exit 1
fi
grep -E 'ERROR SUMMARY|definitely lost' "$w/valgrind.log" || true
echo "ok: valgrind memcheck clean on iodine decompose"
