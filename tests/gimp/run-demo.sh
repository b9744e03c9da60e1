#!/bin/bash
# The README's main job in GIMP: opens the bundled sample in headless GIMP
# 2.10 with the build's plug-in, runs plug-in-iodine-decompose
# (NONINTERACTIVE), saves the layered result as OUT/sample-objects.xcf, and
# writes every object layer (its mask as alpha) as OUT/gimp-layer-N.png and
# all of them side by side as OUT/gimp-layers.png.
#   tests/gimp/run-demo.sh BUILD OUT WEIGHTS
set -euo pipefail
BUILD=$(cd "$1" && pwd)
OUT=$(mkdir -p "$2" && cd "$2" && pwd)
WEIGHTS=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
GIMP=${GIMP_CONSOLE:-gimp-console-2.10}
PLUGIN="$BUILD/plugin/gimp-iodine/gimp-iodine"
if ! command -v "$GIMP" >/dev/null || [ ! -x "$PLUGIN" ]; then
  echo "GIMP 2.10 or the plug-in is not there: skipping the GIMP part of the demo"
  exit 0
fi
# the weights' own K, which the plug-in's call has to name
SLOTS=$("$BUILD/engine/iodine" info "$WEIGHTS" | awk '$1 == "slots" { print $3 }')
TMP=$(mktemp -d /tmp/iodine-demo.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export HOME="$TMP/home" GIMP2_DIRECTORY="$TMP/gimp2" XDG_CACHE_HOME="$TMP/cache" XDG_CONFIG_HOME="$TMP/config"
mkdir -p "$HOME"
unset DISPLAY
cat > "$TMP/gimprc" <<RC
(plug-in-path "$BUILD/plugin:\${gimp_plug_in_dir}/plug-ins")
RC
cat > "$TMP/demo.scm" <<'SCM'
(define (iodine-demo sample weights outdir slots)
  (gimp-plugin-enable-precision)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample sample)))
         (source (car (gimp-image-get-active-layer image))))
    (plug-in-iodine-decompose RUN-NONINTERACTIVE image source slots 5 1 TRUE weights "original" 1)
    (gimp-xcf-save 0 image source (string-append outdir "/sample-objects.xcf")
                   (string-append outdir "/sample-objects.xcf"))
    ; every layer of the "Objects" group, mask applied, as its own PNG
    (let* ((group (vector-ref (cadr (gimp-image-get-layers image)) 0))
           (children (cadr (gimp-item-get-children group)))
           (n (vector-length children)))
      (let loop ((i 0))
        (when (< i n)
          (let* ((layer (vector-ref children i))
                 (copy (car (gimp-image-duplicate image)))
                 (layers (cadr (gimp-item-get-children
                                (vector-ref (cadr (gimp-image-get-layers copy)) 0))))
                 (l (vector-ref layers i))
                 (name (string-append outdir "/gimp-layer-" (number->string (+ i 1)) ".png")))
            (gimp-layer-remove-mask l MASK-APPLY)
            (let ((single (car (gimp-image-new (car (gimp-image-width copy)) (car (gimp-image-height copy)) RGB))))
              (let ((nl (car (gimp-layer-new-from-drawable l single))))
                (gimp-image-insert-layer single nl 0 0)
                (file-png-save2 RUN-NONINTERACTIVE single nl name name 0 9 0 0 0 0 0 0 0))
              (gimp-image-delete single))
            (gimp-image-delete copy)
            (gimp-message (string-append "layer " (number->string (+ i 1)) ": "
                                         (car (gimp-item-get-name layer)))))
          (loop (+ i 1)))))
    (gimp-image-delete image)))
SCM
timeout -k 10 300 "$GIMP" -i -d -f -g "$TMP/gimprc" \
  -b "(begin (load \"$TMP/demo.scm\") (iodine-demo \"$SRC/tests/data/sample.png\" \"$WEIGHTS\" \"$OUT\" $SLOTS))" \
  -b '(gimp-quit 0)' 2>&1 | grep -E "layer [0-9]|Error|error" || true
[ -f "$OUT/sample-objects.xcf" ] || { echo "GIMP did not write $OUT/sample-objects.xcf" >&2; exit 1; }
if command -v montage >/dev/null; then
  montage -background '#808080' -geometry +4+4 "$SRC/tests/data/sample.png" "$OUT"/gimp-layer-*.png "$OUT/gimp-layers.png"
fi
echo "GIMP: $OUT/sample-objects.xcf and $(ls "$OUT"/gimp-layer-*.png | wc -l) layer PNGs"
