#!/bin/bash
# The plug-in end to end inside GIMP 2.10 (gimp-console-2.10, batch
# Script-Fu): a photograph scaled to 4000 × 3000 (or SIZE), decomposed with
# the shipped Tetrominoes weights (or WEIGHTS), K 4, T 5. Prints the time of
# each stage as the plug-in measures it (IODINE_TIMING) and the total from
# loading the model to the last layer written into GIMP.
#   tests/bench/bench-gimp.sh BUILD_DIR [PHOTO] [WIDTHxHEIGHT] [WEIGHTS]
# PHOTO defaults to scikit-learn's china.jpg (Debian's python3-sklearn), else
# a plasma render. Not a test: nothing is asserted.
#   tests/bench/bench-gimp.sh --gimp3 [PHOTO] [WxH] [WEIGHTS]
# the same in GIMP 3.0, in the Debian 13 chroot of the GIMP 3 tests (root;
# tests/gimp/test-gimp3.sh builds the plug-in there).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" = --gimp3 ]; then
  exec "$SRC/tests/gimp/test-gimp3.sh" --bench \
    "${2:-/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg}" "${3:-4000x3000}" \
    "${4:-$SRC/weights/tetrominoes.safetensors}"
fi
BUILD=$(cd "${1:?usage: bench-gimp.sh BUILD_DIR [PHOTO] [WxH] [WEIGHTS]}" && pwd)
PHOTO=${2:-/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg}
SIZE=${3:-4000x3000}
WEIGHTS=${4:-$SRC/weights/tetrominoes.safetensors}
W=${SIZE%x*} H=${SIZE#*x}
GIMP=${GIMP_CONSOLE:-gimp-console-2.10}
command -v "$GIMP" >/dev/null || { echo "$GIMP is not installed"; exit 1; }
[ -x "$BUILD/plugin/gimp-iodine/gimp-iodine" ] || { echo "the GIMP 2 plug-in is not built in $BUILD"; exit 1; }

TMP=$(mktemp -d /tmp/iodine-bench-gimp.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export HOME="$TMP/home" GIMP2_DIRECTORY="$TMP/gimp2" XDG_CACHE_HOME="$TMP/cache" XDG_CONFIG_HOME="$TMP/config"
mkdir -p "$HOME"
unset DISPLAY
printf '(plug-in-path "%s/plugin:${gimp_plug_in_dir}/plug-ins")\n' "$BUILD" > "$TMP/gimprc"
if [ -f "$PHOTO" ]; then
  load="(car (gimp-file-load RUN-NONINTERACTIVE \"$PHOTO\" \"$PHOTO\"))"
  what="$(basename "$PHOTO") scaled to ${W}×${H}"
else
  load="(let* ((i (car (gimp-image-new 64 48 RGB))) (l (car (gimp-layer-new i 64 48 RGB-IMAGE \"p\" 100 LAYER-MODE-NORMAL))))
          (gimp-image-insert-layer i l 0 0) (plug-in-plasma RUN-NONINTERACTIVE i l 7 3.0) i)"
  what="a plasma render scaled to ${W}×${H}"
fi
echo "== $($GIMP --version); $what; $(basename "$WEIGHTS"), K 4, T 5; $(nproc) cores"
IODINE_TIMING=1 timeout 600 "$GIMP" -i -d -f -g "$TMP/gimprc" -b "
(let* ((img $load))
  (gimp-image-scale img $W $H)
  (let ((layer (car (gimp-image-get-active-layer img))))
    (plug-in-iodine-decompose RUN-NONINTERACTIVE img layer 4 5 1 TRUE \"$WEIGHTS\" \"original\" 1)
    (gimp-image-delete img)))" -b '(gimp-quit 0)' > "$TMP/log" 2>&1 || { cat "$TMP/log"; exit 1; }
grep "^iodine-timing" "$TMP/log" | sed 's/^iodine-timing: /  /'
