#!/usr/bin/env bash
# Installs everything gimp-iodine needs to build, run and test on Debian 12,
# with apt-get only. As root it installs directly (a fresh Debian 12 has no
# sudo); as another user it runs itself again through sudo.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: run it as root (sudo is not installed)" >&2; exit 1; }
  exec sudo bash "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build
  meson ninja-build gcc clang pkg-config
  # engine
  libopenblas-dev libglib2.0-dev libjson-glib-dev libgdk-pixbuf-2.0-dev libcairo2-dev
  # dialog and translations
  libgtk-3-dev gettext
  # GIMP 2.10 plug-in and its headless tests; GIMP 3.0 runs in a Debian 13 chroot
  gimp libgimp2.0-dev debootstrap
  # dialog screenshots
  xvfb xauth imagemagick
  # plug-in tests (tests/gimp/): xwininfo to find the dialog, xdotool to press OK
  x11-utils xdotool
  # sanitizers, fuzzing, memcheck
  libclang-rt-14-dev valgrind
  # scripts
  python3
)
if [ "${IODINE_WITH_TORCH:-0}" = 1 ]; then
  # the PyTorch reference (tests/reference/), only to regenerate golden files
  packages+=(python3-torch python3-numpy)
fi
apt-get update -q
apt-get install -y -q "${packages[@]}"
