#!/usr/bin/env bash
# The main job on the bundled sample: builds gimp-iodine, decomposes
# tests/data/sample.png with the shipped weights into demo-output/ (spec §6
# tensors, per-slot PNGs and an overview sheet), and, where the GIMP plug-in
# was built, runs it in headless GIMP and saves the layered result.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${IODINE_BUILD:-build}
out=${IODINE_DEMO_OUT:-demo-output}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" >/dev/null
weights=
for name in general tetrominoes multi-dsprites; do
  if [ -f "weights/$name.safetensors" ]; then weights="weights/$name.safetensors"; break; fi
done
[ -n "$weights" ] || { echo "no weights in weights/" >&2; exit 1; }
mkdir -p "$out"
"$build/engine/iodine" info "$weights"
# the weights' own K (decompose's default) and the fixed-seed posterior
# samples, as the GIMP tests run it: the demo shows what they check
"$build/engine/iodine" decompose --weights "$weights" --deterministic \
  --output "$out/decomposition.safetensors" --png-dir "$out" tests/data/sample.png
if [ -x tests/gimp/run-demo.sh ]; then
  tests/gimp/run-demo.sh "$build" "$out" "$weights"
fi
echo "written to $out/"
ls "$out"
