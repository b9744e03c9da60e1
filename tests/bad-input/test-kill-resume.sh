#!/bin/bash
# No training is lost to a crash: iodine-train with a tiny model, a checkpoint
# after every step, is killed with SIGKILL at random moments, half of the
# time exactly while a checkpoint is being written (its temporary file
# exists). After every kill the checkpoint must load (`iodine info`), be at
# least as far as the one before, and `--resume` must continue from its step.
# A last resume runs to the end and writes the weights.
#
# Needs IODINE_SOURCE_DIR and IODINE_BUILD_DIR (set by meson test).
set -u

build=${IODINE_BUILD_DIR:?}
iodine=$build/engine/iodine
train=$build/engine/iodine-train
export OPENBLAS_NUM_THREADS=1
kills=${IODINE_KILLS:-8}

w=$(mktemp -d "${TMPDIR:-/tmp}/iodine-kill.XXXXXX")
pid=
cleanup () {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$w"
}
trap cleanup EXIT

ckpt=$w/run.ckpt
tiny=(--size 16x16 --slots 2 --iterations 2 --latent 4 --dec-channels 4 --ref-channels 4
      --mlp 8 --batch 2)
common=(--steps 1000000 --checkpoint "$ckpt" --checkpoint-every 1 --log-every 1000000)
failures=0
mid_write=0
prev=0

fail () {
  echo "FAIL: $*"
  sed 's/^/  stderr: /' "$w/stderr" | tail -n 20
  failures=$((failures + 1))
}

# train_steps of a checkpoint, or nothing if it does not load
steps_of () {
  "$iodine" info "$1" 2>"$w/info-stderr" | sed -n 's/^ *train_steps *//p'
}

# Waits (up to 30 s) until the file exists.
wait_for () {
  for _ in $(seq 3000); do
    compgen -G "$1" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}

for i in $(seq "$kills"); do
  if [ -f "$ckpt" ]; then
    "$train" --resume "$ckpt" "${common[@]}" 2>"$w/stderr" &
  else
    "$train" "${tiny[@]}" "${common[@]}" 2>"$w/stderr" &
  fi
  pid=$!
  # Let this process write at least one checkpoint of its own (each write
  # renames a new file into place: a new inode).
  before=$(stat -c %i "$ckpt" 2>/dev/null)
  for _ in $(seq 3000); do
    now=$(stat -c %i "$ckpt" 2>/dev/null)
    [ -n "$now" ] && [ "$now" != "$before" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  if [ $((i % 2)) -eq 0 ]; then
    # while a checkpoint is being written
    wait_for "$ckpt.tmp-*"
    kill -9 "$pid" 2>/dev/null
    how="during a checkpoint write"
  else
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 "$pid" 2>/dev/null
    how="at a random moment"
  fi
  wait "$pid" 2>/dev/null
  rc=$?
  pid=
  left=$(compgen -G "$ckpt.tmp-*" | wc -l)
  [ "$left" -gt 0 ] && mid_write=$((mid_write + 1))
  if [ "$rc" -ne 137 ]; then
    fail "kill $i: iodine-train exited with $rc before it was killed"
    continue
  fi
  steps=$(steps_of "$ckpt")
  if [ -z "$steps" ]; then
    fail "kill $i ($how): the checkpoint does not load: $(cat "$w/info-stderr")"
    break
  fi
  if [ "$steps" -lt "$prev" ]; then
    fail "kill $i: checkpoint went back from step $prev to $steps"
  fi
  if [ "$i" -gt 1 ] && ! grep -q "from step $prev to" "$w/stderr"; then
    fail "kill $i: the resumed run did not start from step $prev"
  fi
  echo "kill $i ($how): checkpoint at step $steps loads; temporary files left: $left"
  # A killed write leaves its temporary file (nothing can remove it); the
  # checkpoint itself is whole. Clear them so the next kill is judged alone.
  rm -f "$ckpt".tmp-*
  prev=$steps
done

# The last resume runs to the end: exit 0, weights written, step count exact.
end=$((prev + 3))
if "$train" --resume "$ckpt" --steps "$end" --checkpoint "$ckpt" \
     --out "$w/final.safetensors" 2>"$w/stderr"; then
  grep -q "from step $prev to $end" "$w/stderr" || fail "final resume did not start at step $prev"
  final=$(steps_of "$w/final.safetensors")
  [ "$final" = "$end" ] || fail "final weights at step “$final”, expected $end"
else
  fail "final resume from step $prev failed"
fi

echo "$kills kills, $mid_write during a checkpoint write; $failures failures"
[ "$failures" -eq 0 ] && [ "$prev" -gt 0 ]
