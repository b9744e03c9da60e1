#!/bin/bash
# A full disk loses nothing: on a small tmpfs that holds one checkpoint but
# not a second copy (the write goes to a temporary file first), iodine-train
# must fail with a clear "No space left on device" and a non-zero exit, and
# the checkpoint already there must stay whole, load and resume. Then
# `iodine decompose --output/--png-dir` and `iodine-train --out` on the full
# disk: an error, and no partial file.
#
# Needs root (mount); exits 77 (skipped) where mounting is not permitted.
# Needs IODINE_BUILD_DIR (set by meson test).
set -u

build=${IODINE_BUILD_DIR:?}
src=${IODINE_SOURCE_DIR:?}
iodine=$build/engine/iodine
train=$build/engine/iodine-train
export OPENBLAS_NUM_THREADS=1

w=$(mktemp -d "${TMPDIR:-/tmp}/iodine-full.XXXXXX")
disk=$w/disk
mkdir -p "$disk"
cleanup () {
  mountpoint -q "$disk" && umount "$disk"
  rm -rf "$w"
}
trap cleanup EXIT

tiny=(--size 16x16 --slots 2 --iterations 2 --latent 4 --dec-channels 4 --ref-channels 4
      --mlp 8 --batch 2)
failures=0
fail () {
  echo "FAIL: $*"
  sed 's/^/  stderr: /' "$w/stderr" | tail -n 20
  failures=$((failures + 1))
}
steps_of () {
  "$iodine" info "$1" 2>/dev/null | sed -n 's/^ *train_steps *//p'
}

# One checkpoint of the tiny model, made elsewhere, decides the disk size.
"$train" "${tiny[@]}" --steps 1 --checkpoint "$w/one.ckpt" 2>"$w/stderr" || { cat "$w/stderr"; exit 1; }
size=$(stat -c %s "$w/one.ckpt")
# room for the checkpoint and 40% more: never for a second copy
kib=$(( (size * 14 / 10 + 1023) / 1024 ))
if ! mount -t tmpfs -o "size=${kib}k" tmpfs "$disk" 2>"$w/stderr"; then
  echo "SKIP: cannot mount a tmpfs here: $(cat "$w/stderr")"
  exit 77
fi
echo "tmpfs of $kib KiB for a checkpoint of $size bytes"
cp "$w/one.ckpt" "$disk/run.ckpt"
sum=$(md5sum <"$disk/run.ckpt")

# 1. The next checkpoint does not fit.
"$train" --resume "$disk/run.ckpt" --steps 5 --checkpoint "$disk/run.ckpt" \
  --checkpoint-every 1 2>"$w/stderr"
rc=$?
if [ "$rc" -eq 0 ]; then
  fail "iodine-train succeeded on a full disk"
elif [ "$rc" -ge 128 ]; then
  fail "iodine-train was killed by signal $((rc - 128))"
elif ! grep -q "No space left on device" "$w/stderr"; then
  fail "no “No space left on device” in the message"
elif ! grep -q "is unchanged" "$w/stderr"; then
  fail "the message does not say the previous checkpoint is kept"
else
  echo "ok: iodine-train exit $rc: $(grep -m1 'No space' "$w/stderr")"
fi
[ "$(md5sum <"$disk/run.ckpt")" = "$sum" ] || fail "the previous checkpoint changed"
[ "$(steps_of "$disk/run.ckpt")" = 1 ] || fail "the previous checkpoint does not load at step 1"
left=$(compgen -G "$disk/run.ckpt.tmp-*")
[ -z "$left" ] || fail "temporary file left on the full disk: $left"

# 2. It resumes (to a disk with room) from where it was.
if "$train" --resume "$disk/run.ckpt" --steps 3 --checkpoint "$w/resumed.ckpt" 2>"$w/stderr" \
   && grep -q "from step 1 to 3" "$w/stderr" && [ "$(steps_of "$w/resumed.ckpt")" = 3 ]; then
  echo "ok: resumed from the kept checkpoint to step 3"
else
  fail "cannot resume from the kept checkpoint"
fi

# 3. Weights (--out) and a decomposition (--output) on the full disk.
"$train" "${tiny[@]}" --steps 0 --out "$w/w.safetensors" 2>"$w/stderr" || fail "tiny weights"
dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null   # fill what is left
"$train" "${tiny[@]}" --steps 1 --out "$disk/w.safetensors" 2>"$w/stderr"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ] || ! grep -q "No space left on device" "$w/stderr"; then
  fail "iodine-train --out on a full disk: exit $rc"
else
  echo "ok: iodine-train --out exit $rc"
fi
"$iodine" decompose -w "$w/w.safetensors" "$src/tests/data/images/grey.png" \
  -o "$disk/out.safetensors" 2>"$w/stderr"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ] || ! grep -q "No space left on device" "$w/stderr"; then
  fail "iodine decompose --output on a full disk: exit $rc"
else
  echo "ok: iodine decompose --output exit $rc"
fi
# per-slot PNGs: the folder this run made goes again, and so does the
# tensors file it wrote before the PNGs failed; no truncated PNG anywhere
"$iodine" decompose -w "$w/w.safetensors" "$src/tests/data/images/grey.png" \
  --png-dir "$disk/png" -o "$w/tensors.safetensors" 2>"$w/stderr"
rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "No space left on device" "$w/stderr"; then
  fail "iodine decompose --png-dir on a full disk: exit $rc"
elif [ -e "$disk/png" ] || [ -e "$w/tensors.safetensors" ]; then
  fail "iodine decompose --png-dir on a full disk left output behind"
else
  echo "ok: iodine decompose --png-dir exit $rc, nothing left"
fi
mkdir "$disk/png-existing"
"$iodine" decompose -w "$w/w.safetensors" "$src/tests/data/images/grey.png" \
  --png-dir "$disk/png-existing" 2>"$w/stderr"
rc=$?
empty=$(find "$disk/png-existing" -type f -size 0)
tmp=$(find "$disk/png-existing" -name '*.tmp-*')
if [ "$rc" -ne 1 ] || [ -n "$empty$tmp" ]; then
  fail "--png-dir into an existing folder on a full disk: exit $rc, left: $empty $tmp"
else
  echo "ok: --png-dir into an existing folder: exit $rc, no truncated PNG"
fi
rm -rf "$disk/png-existing"
rm -f "$disk/filler"
extra=$(cd "$disk" && ls -A | grep -v '^run.ckpt$')
[ -z "$extra" ] || fail "partial files left on the full disk: $extra"
[ "$(md5sum <"$disk/run.ckpt")" = "$sum" ] || fail "the checkpoint changed"

echo "$failures failures"
[ "$failures" -eq 0 ]
