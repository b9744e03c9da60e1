#!/bin/bash
# Runs plug-in-iodine-decompose in GIMP 3.0 inside a Debian 13 chroot
# (created and cached by scripts/gimp3-chroot.sh, default
# /var/cache/gimp-iodine/trixie): builds the project there with its own
# compiler (-Dgimp=3) from a read-only bind mount of this source tree, then
# runs gimp-console-3.0 with the Script-Fu batch tests/gimp/test-gimp3.scm.
# Exit 77 (skip) when the chroot cannot be created (not root, no
# debootstrap, no network to the mirror).
#
#   test-gimp3.sh                       the Script-Fu checks
#   test-gimp3.sh --screenshot OUT.png  the dialog inside GIMP 3.0 under Xvfb
#                                       (tests/gimp/screenshot-gimp.sh --gimp3)
#   test-gimp3.sh --bench PHOTO WxH WEIGHTS
#                                       the plug-in's stage times on PHOTO scaled
#                                       to WxH (tests/bench/bench-gimp.sh --gimp3)
set -uo pipefail
SHOT= BENCH=
if [ "${1:-}" = --screenshot ]; then SHOT=${2:?--screenshot needs an output file}; fi
if [ "${1:-}" = --bench ]; then
  BENCH=1 B_PHOTO=${2:?--bench PHOTO WxH WEIGHTS} B_SIZE=${3:?} B_WEIGHTS=${4:?}
fi
SRC=${IODINE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHROOT=${GIMP3_CHROOT:-/var/cache/gimp-iodine/trixie}
export GIMP3_CHROOT="$CHROOT"

if [ "$(id -u)" != 0 ]; then echo "SKIP: the GIMP 3 test needs root (chroot)"; exit 77; fi
if ! "$SRC/scripts/gimp3-chroot.sh" --check; then
  echo "== creating the GIMP 3 chroot in $CHROOT (once; several minutes)"
  if ! "$SRC/scripts/gimp3-chroot.sh" > /dev/null; then
    echo "SKIP: the Debian 13 chroot with GIMP 3 could not be created"
    exit 77
  fi
fi

# one run at a time in the shared chroot
exec 8>"$CHROOT.run-lock"
flock 8

# leftovers of a run that was killed
for m in src dev/shm dev proc; do
  mountpoint -q "$CHROOT/$m" 2>/dev/null && umount -l "$CHROOT/$m"
done

mounted=()
cleanup () {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 143' TERM INT
mount_in () {  # mount_in WHERE ARGS...
  local where="$CHROOT$1"; shift
  mkdir -p "$where"
  mount "$@" "$where" || { echo "FAIL: cannot mount $where"; exit 1; }
  mounted+=("$where")
}
mount_in /proc -t proc proc
mount_in /dev --bind /dev
mount_in /src --bind "$SRC"
mount -o remount,bind,ro "$CHROOT/src" 2>/dev/null || true

in_chroot () {
  chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    HOME=/tmp/iodine-gimp3/home OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} "$@"
}

BUILD=/var/tmp/iodine-gimp3-build
rm -rf "$CHROOT/tmp/iodine-gimp3"
mkdir -p "$CHROOT/tmp/iodine-gimp3/home"
trap 'cleanup; rm -rf "$CHROOT/tmp/iodine-gimp3"' EXIT

echo "== building in the chroot ($(in_chroot gcc --version | head -n 1))"
if [ -f "$CHROOT$BUILD/build.ninja" ]; then
  setup=(meson setup --reconfigure "$BUILD" /src -Dgimp=3 -Dwerror=false)
else
  setup=(meson setup "$BUILD" /src -Dgimp=3 -Dwerror=false)
fi
if ! in_chroot "${setup[@]}" > "$CHROOT/tmp/iodine-gimp3/setup.log" 2>&1; then
  tail -n 30 "$CHROOT/tmp/iodine-gimp3/setup.log"; echo "FAIL: meson setup in the chroot"; exit 1
fi
grep -E "GIMP plug-in" "$CHROOT/tmp/iodine-gimp3/setup.log" || true
if ! in_chroot ninja -C "$BUILD" plugin/gimp-iodine/gimp-iodine tests/gimp/make-weights \
     > "$CHROOT/tmp/iodine-gimp3/build.log" 2>&1; then
  tail -n 40 "$CHROOT/tmp/iodine-gimp3/build.log"; echo "FAIL: build in the chroot"; exit 1
fi
grep -E "warning:" "$CHROOT/tmp/iodine-gimp3/build.log" | head -n 20 || true

if [ -n "$SHOT" ]; then
  mount_in /dev/shm -t tmpfs tmpfs
  status=0
  in_chroot IODINE_SOURCE_DIR=/src IODINE_BUILD_DIR="$BUILD" \
    /src/tests/gimp/screenshot-gimp.sh --gimp3 /tmp/iodine-gimp3/shot.png || status=$?
  [ -f "$CHROOT/tmp/iodine-gimp3/shot.png" ] && cp "$CHROOT/tmp/iodine-gimp3/shot.png" "$SHOT" &&
    echo "saved $SHOT"
  exit $status
fi

if [ -n "$BENCH" ]; then
  cp "$B_PHOTO" "$CHROOT/tmp/iodine-gimp3/photo.${B_PHOTO##*.}"
  cp "$B_WEIGHTS" "$CHROOT/tmp/iodine-gimp3/weights.safetensors"
  echo "(plug-in-path \"$BUILD/plugin:\${gimp_plug_in_dir}/plug-ins\")" > "$CHROOT/tmp/iodine-gimp3/gimprc"
  echo "== $(in_chroot gimp-console-3.0 --version); $(basename "$B_PHOTO") scaled to $B_SIZE"
  in_chroot GIMP3_DIRECTORY=/tmp/iodine-gimp3/gimp3 IODINE_TIMING=1 \
    timeout -k 10 600 gimp-console-3.0 -i -d -f --quit \
    -g /tmp/iodine-gimp3/gimprc --batch-interpreter plug-in-script-fu-eval \
    -b "(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"/tmp/iodine-gimp3/photo.${B_PHOTO##*.}\"))))
          (gimp-image-scale img ${B_SIZE%x*} ${B_SIZE#*x})
          (plug-in-iodine-decompose RUN-NONINTERACTIVE img
            (vector (vector-ref (car (gimp-image-get-layers img)) 0)) 4 5 1 TRUE
            \"/tmp/iodine-gimp3/weights.safetensors\" \"original\" 1)
          (gimp-image-delete img))" > "$CHROOT/tmp/iodine-gimp3/gimp.log" 2>&1
  grep "^iodine-timing" "$CHROOT/tmp/iodine-gimp3/gimp.log" | sed 's/^iodine-timing: /  /' ||
    { tail -n 30 "$CHROOT/tmp/iodine-gimp3/gimp.log"; exit 1; }
  exit 0
fi

in_chroot "$BUILD/tests/gimp/make-weights" tetrominoes /tmp/iodine-gimp3/tetrominoes.safetensors 1 || exit 1
# the shipped models, where the plug-in's default ("" as weights) is found;
# the sample's ground truth for the checks of the default model
mkdir -p "$CHROOT/tmp/iodine-gimp3/shipped"
cp "$SRC"/weights/*.safetensors "$CHROOT/tmp/iodine-gimp3/shipped/"
sh "$SRC/tests/gimp/make-sample.sh" --labels "$CHROOT/tmp/iodine-gimp3/labels.png"
. "$SRC/tests/gimp/sample-floors.sh"
cat > "$CHROOT/tmp/iodine-gimp3/gimprc" <<RC
(plug-in-path "$BUILD/plugin:\${gimp_plug_in_dir}/plug-ins")
RC

echo "== $(in_chroot gimp-console-3.0 --version)"
status=0
in_chroot GIMP3_DIRECTORY=/tmp/iodine-gimp3/gimp3 IODINE_WEIGHTS_DIR=/tmp/iodine-gimp3/shipped \
  timeout -k 10 ${IODINE_GIMP_TIMEOUT:-400} gimp-console-3.0 -i -d -f --quit \
  -g /tmp/iodine-gimp3/gimprc --batch-interpreter plug-in-script-fu-eval \
  -b "(begin (load \"/src/tests/gimp/test-gimp3.scm\") (load \"/src/tests/gimp/sample-check.scm\") (iodine-test \"/src/tests/data/sample.png\" \"/tmp/iodine-gimp3/tetrominoes.safetensors\" \"/tmp/iodine-gimp3\" \"/tmp/iodine-gimp3/labels.png\" $SAMPLE_SLOTS $SAMPLE_MIN_LAYERS $SAMPLE_MIN_SHARE $SAMPLE_AREA_FACTOR $SAMPLE_MIN_DISTINCT $SAMPLE_MIN_OWN))" \
  > "$CHROOT/tmp/iodine-gimp3/gimp.log" 2>&1 || status=$?
grep -v -E "resource name is invalid|^$|Skipping unknown file|cannot open display|unexpected EOF|deprecated|named arguments|Broken pipe" \
  "$CHROOT/tmp/iodine-gimp3/gimp.log" | tail -n 30 || true
[ $status -eq 124 ] && { echo "FAIL: GIMP 3 timed out"; exit 1; }
R="$CHROOT/tmp/iodine-gimp3/result.txt"
[ -f "$R" ] || { echo "FAIL: the Script-Fu batch did not finish (exit $status)"; exit 1; }
cat "$R"
[ -f "$CHROOT/tmp/iodine-gimp3/rgb.xcf" ] || { echo "FAIL: no .xcf saved"; exit 1; }
[ "$(tail -n 1 "$R")" = PASS ]
