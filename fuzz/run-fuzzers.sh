#!/bin/sh
# Builds the libFuzzer targets with clang in their own build directory and
# runs each one for a bounded time.
#
#   fuzz/run-fuzzers.sh [SECONDS_PER_TARGET [TARGET...]]    (default 30 s, all)
#
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev). The build
# directory is $IODINE_FUZZ_BUILD, default build-fuzz/ in the source tree.
# New inputs go to BUILD/fuzz/corpus-NAME/ (the committed seeds in
# fuzz/corpus/NAME/ are only read); a crashing input is saved as
# BUILD/fuzz/artifacts-NAME/crash-* and the script exits non-zero.
# Turn each crash into a regression case in tests/ before fixing it.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
[ $# -gt 0 ] && shift
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

failed=""
for name in $targets; do
  exe=$build/fuzz/fuzz-$name
  work=$build/fuzz/corpus-$name
  artifacts=$build/fuzz/artifacts-$name
  mkdir -p "$work" "$artifacts"
  set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="$artifacts/"
  [ -f "$src/fuzz/$name.dict" ] && set -- "$@" -dict="$src/fuzz/$name.dict"
  echo "== fuzz-$name for ${seconds} s"
  if ! "$exe" "$@" "$work" "$src/fuzz/corpus/$name"; then
    echo "== fuzz-$name FAILED: inputs in $artifacts/" >&2
    failed="$failed $name"
  fi
done

if [ -n "$failed" ]; then
  echo "== crashes found in:$failed" >&2
  exit 1
fi
echo "== no crash in: $targets"
