#!/bin/sh
# Renders tests/data/sample.png (the plug-in tests' and README's sample):
# a few coloured shapes, two of them overlapping, on a soft background.
set -e
out=${1:-"$(dirname "$0")/../data/sample.png"}
convert -size 320x240 gradient:'#d9e3ea-#9fb4c4' \
  -fill '#d83a2e' -draw 'circle 100,110 100,50' \
  -fill '#2e9e4f' -draw 'rectangle 150,70 250,170' \
  -fill '#f2c230' -draw 'polygon 190,200 250,110 310,200' \
  -fill '#3a5fd8' -draw 'roundrectangle 30,170 120,225 12,12' \
  -depth 8 -strip -define png:exclude-chunks=date,time "$out"
