#!/bin/bash
# Screenshot of the plug-in's dialog inside GIMP: runs the full GIMP (with
# its GUI) under Xvfb with a fresh profile, opens tests/data/sample.png in a
# display and calls plug-in-iodine-decompose INTERACTIVE from a Script-Fu
# batch; once the "Decompose into Objects" window is mapped and its preview
# had time to compute, saves the screen with ImageMagick's `import`. With
# xdotool it then presses Enter (OK) and checks that the run added the
# "Objects" group.
#
#   screenshot-gimp.sh [--gimp3] [OUTPUT.png]
#     default GIMP 2.10 (gimp-2.10); --gimp3: GIMP 3.0 (gimp-3.0, run by
#     test-gimp3.sh --screenshot inside the Debian 13 chroot)
#     default output $IODINE_BUILD_DIR/gimp2-dialog-screenshot.png
#
# Exit 77 (skip) without GIMP, Xvfb, xwininfo or import, or when the
# plug-in was built without the dialog.
set -u
SRC=${IODINE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${IODINE_BUILD_DIR:?IODINE_BUILD_DIR must point at the build directory}
GIMP_MAJOR=2
if [ "${1:-}" = --gimp3 ]; then GIMP_MAJOR=3; shift; fi
OUT=${1:-$BUILD/gimp$GIMP_MAJOR-dialog-screenshot.png}
if [ $GIMP_MAJOR = 3 ]; then GIMP_BIN=gimp-3.0; else GIMP_BIN=gimp-2.10; fi
PLUGIN="$BUILD/plugin/gimp-iodine/gimp-iodine"

for tool in $GIMP_BIN Xvfb xwininfo import; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$PLUGIN" ] || { echo "SKIP: the plug-in is not built"; exit 77; }
ldd "$PLUGIN" | grep -q libgtk-3 || { echo "SKIP: the plug-in was built without the dialog"; exit 77; }

TMP=$(mktemp -d /tmp/iodine-shot.XXXXXX)
xpid= gpid=
cleanup () {
  [ -n "$gpid" ] && kill "$gpid" 2>/dev/null && sleep 1 && kill -9 "$gpid" 2>/dev/null
  [ -n "$xpid" ] && kill "$xpid" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

n=120
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1280x900x24 -nolisten tcp > "$TMP/xvfb.log" 2>&1 &
xpid=$!
export DISPLAY=":$n"
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$n" ] || { echo "SKIP: Xvfb did not start"; cat "$TMP/xvfb.log"; exit 77; }

export HOME="$TMP/home" GIMP2_DIRECTORY="$TMP/gimp2" GIMP3_DIRECTORY="$TMP/gimp3" XDG_CACHE_HOME="$TMP/cache" XDG_CONFIG_HOME="$TMP/config"
export NO_AT_BRIDGE=1 GTK_THEME=${GTK_THEME:-Adwaita} GDK_BACKEND=x11
mkdir -p "$HOME"
cat > "$TMP/gimprc" <<RC
(plug-in-path "$BUILD/plugin:\${gimp_plug_in_dir}/plug-ins")
RC
"$BUILD/tests/gimp/make-weights" tetrominoes "$TMP/tetrominoes.safetensors" 1 || exit 1
export IODINE_WEIGHTS_DIR="$TMP"

after="(let ((p (open-output-file \"$TMP/after.txt\"))) (write (list (car (gimp-image-get-layer-by-name image \"Objects\")) n-layers) p) (close-output-port p))"
if [ $GIMP_MAJOR = 3 ]; then
  batch="(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE \"$SRC/tests/data/sample.png\"))) (layer (vector-ref (car (gimp-image-get-layers image)) 0))) (gimp-display-new image) (gimp-displays-flush) (catch #f (plug-in-iodine-decompose RUN-INTERACTIVE image (vector layer) 4 5 -1 FALSE \"\" \"original\" 1)) (let ((n-layers (vector-length (car (gimp-image-get-layers image))))) $after))"
  gimp-3.0 -d -f -s -g "$TMP/gimprc" --batch-interpreter plug-in-script-fu-eval -b "$batch" > "$TMP/gimp.log" 2>&1 &
else
  batch="(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE \"$SRC/tests/data/sample.png\" \"sample.png\"))) (layer (car (gimp-image-get-active-layer image)))) (gimp-display-new image) (gimp-displays-flush) (catch #f (plug-in-iodine-decompose RUN-INTERACTIVE image layer 4 5 -1 FALSE \"\" \"original\" 1)) (let ((n-layers (car (gimp-image-get-layers image)))) $after))"
  gimp-2.10 -d -f -s -g "$TMP/gimprc" -b "$batch" > "$TMP/gimp.log" 2>&1 &
fi
gpid=$!

found=
for _ in $(seq 240); do
  if xwininfo -root -tree 2>/dev/null | grep -q '"Decompose into Objects"'; then found=1; break; fi
  kill -0 "$gpid" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$found" ]; then
  echo "FAIL: the dialog did not come up in GIMP $GIMP_MAJOR"
  tail -n 30 "$TMP/gimp.log"
  exit 1
fi
sleep "${IODINE_SHOT_DELAY:-8}"   # the live preview runs the model once
import -window root "$OUT" || { echo "FAIL: import could not save $OUT"; exit 1; }
echo "dialog screenshot (GIMP $GIMP_MAJOR): $OUT"

# With xdotool: press Enter (OK) and check that the run added the group.
if command -v xdotool >/dev/null; then
  win=$(xdotool search --name '^Decompose into Objects$' | head -n 1)
  xdotool windowfocus --sync "$win" key Return
  for _ in $(seq 240); do [ -s "$TMP/after.txt" ] && break; sleep 0.5; done
  [ -s "$TMP/after.txt" ] || { echo "FAIL: OK in the dialog did not finish the run"; tail -n 30 "$TMP/gimp.log"; exit 1; }
  echo "after OK: (group-id n-top-level-layers) = $(cat "$TMP/after.txt")"
  grep -qE '^\(-1 ' "$TMP/after.txt" && { echo "FAIL: no Objects group after OK"; exit 1; }
  grep -qE ' 2\)$' "$TMP/after.txt" || { echo "FAIL: expected 2 top-level layers after OK"; exit 1; }
  if [ -n "${IODINE_SHOT_AFTER:-}" ]; then import -window root "$IODINE_SHOT_AFTER"; fi
fi
exit 0
