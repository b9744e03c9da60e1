#!/usr/bin/env bash
# What a model does on real photographs: decomposes every photograph found in
# Debian packages (scikit-learn's china.jpg and flower.jpg, matplotlib's
# grace_hopper.jpg, GIMP's splash) with `iodine decompose --deterministic`
# and stacks the overview sheets (input, reconstruction, segmentation, each
# slot's mask × means) into one PNG, a row per photograph.
#   weights/photo-sheet.sh WEIGHTS OUT.png [PHOTO…]
# Needs ImageMagick (convert).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weights=${1:?usage: photo-sheet.sh WEIGHTS OUT.png [PHOTO…]}
out=${2:?usage: photo-sheet.sh WEIGHTS OUT.png [PHOTO…]}
shift 2
iodine=${IODINE_BUILD:-$here/../build}/engine/iodine
photos=("$@")
if [ ${#photos[@]} -eq 0 ]; then
  for p in /usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg \
           /usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg \
           /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg \
           /usr/share/gimp/2.0/images/gimp-splash.png; do
    [ -f "$p" ] && photos+=("$p")
  done
fi
[ ${#photos[@]} -gt 0 ] || { echo "photo-sheet.sh: no photographs found" >&2; exit 1; }
command -v convert >/dev/null || { echo "photo-sheet.sh: needs ImageMagick's convert" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rows=()
for p in "${photos[@]}"; do
  name=$(basename "$p")
  "$iodine" decompose --weights "$weights" --deterministic --png-dir "$tmp/$name" "$p" >/dev/null
  convert "$tmp/$name/overview.png" -filter point -resize 200% \
    -gravity west -background white -splice 160x0 -font DejaVu-Sans -pointsize 14 \
    -annotate +8+0 "$name" "$tmp/$name.row.png"
  rows+=("$tmp/$name.row.png")
done
convert "${rows[@]}" -background white -append "$out"
echo "$out: $(basename "$weights") on ${#photos[@]} photographs"
