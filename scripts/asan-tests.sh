#!/bin/sh
# Builds the project with AddressSanitizer and UndefinedBehaviorSanitizer in
# a build directory of its own and runs the test suite there.
#
#   scripts/asan-tests.sh [MESON TEST ARGUMENTS...]
#
# The build directory is $IODINE_ASAN_BUILD, default build-asan/ in the
# source tree; it is set up on the first run (without the GIMP plug-in and
# the GTK dialog, whose toolkits are not clean under LeakSanitizer) and
# rebuilt on each run. Every sanitizer report fails its test: UBSan does not
# recover, ASan and LSan stop at the first error. Tests of the plug-in, the
# dialog and valgrind (which cannot run a sanitized binary) are left out by
# suite. Extra arguments go to `meson test`, e.g. --suite bad-input.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${IODINE_ASAN_BUILD:-$src/build-asan}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$src" -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all \
    -Dgimp=none -Dui=disabled
fi
ninja -C "$build"

# Reports go to stderr, which the test logs keep; a test that ends with a
# report fails. Suppressions only for leaks inside third-party libraries.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/scripts/lsan.supp:print_suppressions=0}"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

exec meson test -C "$build" --print-errorlogs --timeout-multiplier 4 \
  --no-suite gimp --no-suite plugin --no-suite ui --no-suite valgrind "$@"
