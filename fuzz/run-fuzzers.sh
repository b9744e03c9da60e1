#!/bin/sh
# Builds the libFuzzer targets with clang in their own build directory and
# runs each one for a bounded time, or repeatably.
#
#   fuzz/run-fuzzers.sh [SECONDS_PER_TARGET [TARGET...]]    (default 30 s, all)
#   fuzz/run-fuzzers.sh --repeatable [TARGET...]
#
# The first form explores: a random seed each time, and the inputs found
# are kept for the next run. --repeatable is what scripts/run-tests.sh (and
# so CI) runs: a fixed seed, a fixed number of inputs per target (below) and
# a corpus started afresh from the committed seeds, no corpus reloading and
# no address randomisation (below), so that one build gives the same result
# run after run and a failure can be replayed here. A build elsewhere (other
# paths, so another binary layout) may still try a few different inputs:
# some code on the way reads addresses (measured in session 19: cov 162 in
# one checkout, 164 in another). Whatever a long exploratory run finds
# becomes a seed or a test, and from then on the repeatable run checks it.
#
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev). The build
# directory is $IODINE_FUZZ_BUILD, default build-fuzz/ in the source tree.
# New inputs go to BUILD/fuzz/corpus-NAME/ (the committed seeds in
# fuzz/corpus/NAME/ are only read); a crashing input is saved as
# BUILD/fuzz/artifacts-NAME/crash-* and the script exits non-zero.
# Turn each crash into a regression case in tests/ before fixing it.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
repeatable=false
if [ "${1:-}" = --repeatable ]; then
  repeatable=true
  shift
else
  seconds=${1:-30}
  [ $# -gt 0 ] && shift
fi

# Inputs per target in --repeatable runs: about a minute for image and half
# a minute for tensorfile on this machine (gdk-pixbuf decodes a few hundred
# files a second under ASan; the tensor file parser, tens of thousands).
repeatable_runs () {
  case $1 in
    image) echo 10000 ;;
    tensorfile) echo 800000 ;;
    *) echo 100000 ;;
  esac
}
build=${IODINE_FUZZ_BUILD:-$src/build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
  CC=${CC:-clang} meson setup "$build" "$src" -Dfuzzing=true \
    -Dbuildtype=debugoptimized -Dgimp=none -Dui=disabled
fi
ninja -C "$build" fuzzers

if [ $# -gt 0 ]; then
  targets=$*
else
  targets=""
  for f in "$build"/fuzz/fuzz-*; do
    if [ -f "$f" ] && [ -x "$f" ]; then
      targets="$targets ${f##*/fuzz-}"
    fi
  done
fi

# Without address randomisation where the system allows it: heap and code
# addresses still steer a few of the inputs libFuzzer keeps (two runs of a
# fresh clone differed with it, and were the same three times without it).
launcher=""
if $repeatable && setarch "$(uname -m)" -R true 2>/dev/null; then
  launcher="setarch $(uname -m) -R"
fi

failed=""
for name in $targets; do
  exe=$build/fuzz/fuzz-$name
  work=$build/fuzz/corpus-$name
  artifacts=$build/fuzz/artifacts-$name
  if $repeatable; then
    work=$build/fuzz/repeatable-corpus-$name
    rm -rf "$work"
    runs=$(repeatable_runs "$name")
    # -reload=0: libFuzzer otherwise re-reads its corpus folder every
    # second, which makes the inputs it tries depend on the clock.
    set -- -seed=1 -runs="$runs" -reload=0
    what="$runs inputs from seed 1"
  else
    set -- -max_total_time="$seconds"
    what="${seconds} s"
  fi
  mkdir -p "$work" "$artifacts"
  set -- "$@" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="$artifacts/"
  [ -f "$src/fuzz/$name.dict" ] && set -- "$@" -dict="$src/fuzz/$name.dict"
  echo "== fuzz-$name, $what"
  if ! $launcher "$exe" "$@" "$work" "$src/fuzz/corpus/$name"; then
    echo "== fuzz-$name FAILED: inputs in $artifacts/" >&2
    failed="$failed $name"
  fi
done

if [ -n "$failed" ]; then
  echo "== crashes found in:$failed" >&2
  exit 1
fi
echo "== no crash in:$targets"
