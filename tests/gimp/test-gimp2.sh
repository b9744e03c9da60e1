#!/bin/bash
# Runs plug-in-iodine-decompose in GIMP 2.10 (gimp-console-2.10, batch
# Script-Fu) from the build tree, with a fresh GIMP2_DIRECTORY each run.
# Needs: gimp (2.10), the plug-in built against GIMP 2 (-Dgimp=2 or auto
# without GIMP 3). Exit 77 (skip) when GIMP 2.10 is not installed.
set -euo pipefail
SRC=${IODINE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${IODINE_BUILD_DIR:?IODINE_BUILD_DIR must point at the build directory}
PLUGIN="$BUILD/plugin/gimp-iodine/gimp-iodine"
GIMP=${GIMP_CONSOLE:-gimp-console-2.10}

command -v "$GIMP" >/dev/null || { echo "SKIP: $GIMP not installed"; exit 77; }
[ -x "$PLUGIN" ] || { echo "SKIP: the plug-in is not built ($PLUGIN)"; exit 77; }

TMP=$(mktemp -d /tmp/iodine-gimp2.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export HOME="$TMP/home" GIMP2_DIRECTORY="$TMP/gimp2" XDG_CACHE_HOME="$TMP/cache" XDG_CONFIG_HOME="$TMP/config"
mkdir -p "$HOME"
unset DISPLAY
cat > "$TMP/gimprc" <<RC
(plug-in-path "$BUILD/plugin:\${gimp_plug_in_dir}/plug-ins")
RC

"$BUILD/tests/gimp/make-weights" tetrominoes "$TMP/tetrominoes.safetensors" 1
# the shipped models, where the plug-in's default ("" as weights) is found;
# the sample's ground truth for the checks of the default model
mkdir -p "$TMP/shipped"
cp "$SRC"/weights/*.safetensors "$TMP/shipped/"
export IODINE_WEIGHTS_DIR="$TMP/shipped"
sh "$SRC/tests/gimp/make-sample.sh" --labels "$TMP/labels.png"
. "$SRC/tests/gimp/sample-floors.sh"

echo "== $($GIMP --version)"
status=0
timeout -k 10 ${IODINE_GIMP_TIMEOUT:-400} "$GIMP" -i -d -f -g "$TMP/gimprc" \
  -b "(begin (load \"$SRC/tests/gimp/test-gimp2.scm\") (load \"$SRC/tests/gimp/sample-check.scm\") (iodine-test \"$SRC/tests/data/sample.png\" \"$TMP/tetrominoes.safetensors\" \"$TMP\" \"$TMP/labels.png\" $SAMPLE_SLOTS $SAMPLE_MIN_LAYERS $SAMPLE_MIN_SHARE $SAMPLE_AREA_FACTOR $SAMPLE_MIN_DISTINCT $SAMPLE_MIN_OWN))" \
  -b '(gimp-quit 0)' > "$TMP/gimp.log" 2>&1 || status=$?
grep -v -E "Failed to parse tag cache|^$" "$TMP/gimp.log" | tail -n 40 || true
[ $status -eq 124 ] && { echo "FAIL: GIMP timed out"; exit 1; }
[ -f "$TMP/result.txt" ] || { echo "FAIL: the Script-Fu batch did not finish (exit $status)"; exit 1; }
cat "$TMP/result.txt"
[ -f "$TMP/rgb.xcf" ] || { echo "FAIL: no .xcf saved"; exit 1; }
if [ -n "${IODINE_KEEP_XCF:-}" ]; then cp "$TMP/rgb.xcf" "$IODINE_KEEP_XCF"; fi
[ "$(tail -n 1 "$TMP/result.txt")" = PASS ]
