#!/bin/bash
# Creates (once) and caches a Debian 13 "trixie" chroot with GIMP 3.0 and the
# build dependencies of gimp-iodine, for tests/gimp/test-gimp3.sh.
#
#   scripts/gimp3-chroot.sh            create it if missing; print its path
#   scripts/gimp3-chroot.sh --check    exit 0 if it is ready, 1 if not
#
# The directory is $GIMP3_CHROOT, default /var/cache/gimp-iodine/trixie. The
# mirror is the Debian mirror apt already uses (sources.list / *.sources),
# overridable with $GIMP3_MIRROR. Needs root and debootstrap. Exit status 2:
# the chroot could not be created (no network, no debootstrap, not root).
set -euo pipefail

DIR=${GIMP3_CHROOT:-/var/cache/gimp-iodine/trixie}
STAMP="$DIR/.gimp-iodine-ready"
STAMP_VERSION=2
PACKAGES="gimp libgimp-3.0-dev meson ninja-build gcc libc6-dev pkg-config
  libopenblas-dev libjson-glib-dev libgdk-pixbuf-2.0-dev libgtk-3-dev
  gettext ca-certificates
  xvfb xauth imagemagick x11-utils xdotool"

ready () { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VERSION" ]; }

if [ "${1:-}" = "--check" ]; then ready; exit $?; fi
if ready; then echo "$DIR"; exit 0; fi

fail () { echo "gimp3-chroot: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "must run as root to create $DIR"
command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"

find_mirror () {
  local m
  if [ -n "${GIMP3_MIRROR:-}" ]; then echo "$GIMP3_MIRROR"; return; fi
  m=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | sed 's/^URIs:[[:space:]]*//' | tr ' ' '\n';
         grep -hs '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
           sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}'; } |
       grep -E '/debian/?$' | grep -v security | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=$(find_mirror)

mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
if ready; then echo "$DIR"; exit 0; fi

WORK="$DIR.partial"
unmount_all () {
  for m in dev/pts dev proc; do
    mountpoint -q "$WORK/$m" 2>/dev/null && umount -l "$WORK/$m" || true
  done
}
trap unmount_all EXIT
trap 'exit 143' TERM INT

# an older version of the chroot: keep it and install what is missing
if [ ! -e "$WORK" ] && [ -x "$DIR/usr/bin/apt-get" ]; then
  mv "$DIR" "$WORK"
fi
if [ ! -x "$WORK/usr/bin/apt-get" ]; then
  rm -rf "$WORK"
  echo "gimp3-chroot: debootstrap trixie from $MIRROR into $WORK" >&2
  debootstrap --variant=minbase trixie "$WORK" "$MIRROR" >&2 ||
    { rm -rf "$WORK"; fail "debootstrap from $MIRROR failed (no network to the mirror?)"; }
fi

mount -t proc proc "$WORK/proc"
mount --bind /dev "$WORK/dev"
cp /etc/resolv.conf "$WORK/etc/resolv.conf" 2>/dev/null || true
echo "deb $MIRROR trixie main" > "$WORK/etc/apt/sources.list"
in_chroot () { chroot "$WORK" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root "$@"; }
in_chroot apt-get update >&2 || fail "apt-get update in the chroot failed"
# shellcheck disable=SC2086
in_chroot apt-get install -y --no-install-recommends $PACKAGES >&2 ||
  fail "apt-get install in the chroot failed"
in_chroot apt-get clean >&2
unmount_all
trap - EXIT
rm -rf "$DIR"
mv "$WORK" "$DIR"
echo "$STAMP_VERSION" > "$STAMP"
echo "$DIR"
