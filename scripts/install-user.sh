#!/usr/bin/env bash
# Builds gimp-iodine and installs the plug-in and the shipped weights into the
# current user's GIMP folder (no root needed once the dependencies are there):
# ~/.config/GIMP/2.10/plug-ins/gimp-iodine or ~/.config/GIMP/3.0/plug-ins/…,
# whichever GIMP the build finds. Restart GIMP afterwards:
# Filters → Decompose into Objects… (menus in English: the translations are
# installed by a system-wide `meson install`)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${XDG_CONFIG_HOME:-$HOME/.config}
if pkg-config --exists gimp-3.0; then version=3.0; else version=2.10; fi
dir="$config/GIMP/$version/plug-ins/gimp-iodine"
build=build-user
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" -Dplugin_dir="$dir" >/dev/null
else
  meson setup "$build" -Dplugin_dir="$dir" -Dbuildtype=release >/dev/null
fi
ninja -C "$build"
mkdir -p "$dir"
install -m 755 "$build/plugin/gimp-iodine/gimp-iodine" "$dir/"
for w in weights/*.safetensors; do install -m 644 "$w" "$dir/"; done
echo "installed into $dir"
ls "$dir"
