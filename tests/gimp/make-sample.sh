#!/bin/sh
# Renders tests/data/sample.png (the plug-in tests' and README's sample):
# a few coloured shapes, two of them overlapping, on a soft background.
#   make-sample.sh [OUT.png]            the sample
#   make-sample.sh --labels OUT.png     its ground truth: the same shapes, not
#                                       antialiased, in grey levels 1–4 on 0
set -e
if [ "${1:-}" = --labels ]; then
  out=$2
  set -- xc:black +antialias "gray(1)" "gray(2)" "gray(3)" "gray(4)"
else
  out=${1:-"$(dirname "$0")/../data/sample.png"}
  set -- gradient:'#d9e3ea-#9fb4c4' -antialias '#d83a2e' '#2e9e4f' '#f2c230' '#3a5fd8'
fi
convert -size 320x240 "$1" "$2" \
  -fill "$3" -draw 'circle 100,110 100,50' \
  -fill "$4" -draw 'rectangle 150,70 250,170' \
  -fill "$5" -draw 'polygon 190,200 250,110 310,200' \
  -fill "$6" -draw 'roundrectangle 30,170 120,225 12,12' \
  -depth 8 -strip -define png:exclude-chunks=date,time "$out"
