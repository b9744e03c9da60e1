#!/usr/bin/env bash
# Builds gimp-iodine and runs every test: the suite in a release build, the
# same suite under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# fuzzers on a fixed set of inputs. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${IODINE_TEST_BUILD:-$top/build-test}
status=0

meson setup --wipe "$build" "$top" >/dev/null 2>&1 || meson setup "$build" "$top" || exit 1
ninja -C "$build" || exit 1
meson test -C "$build" --print-errorlogs --num-processes 2 || status=1

extra_pass=0
extra_fail=0
if [ -x scripts/asan-tests.sh ] || [ -f scripts/asan-tests.sh ]; then
  if bash scripts/asan-tests.sh; then :; else status=1; fi
fi
if [ -f fuzz/run-fuzzers.sh ]; then
  # repeatable (fixed seed and input count), so that the outcome is the
  # code's and not luck's; IODINE_FUZZ_SECONDS=N explores for N s instead
  if bash fuzz/run-fuzzers.sh ${IODINE_FUZZ_SECONDS:---repeatable}; then
    extra_pass=$((extra_pass + 1))
  else
    extra_fail=$((extra_fail + 1))
    status=1
  fi
fi

# one summary over every meson test log
python3 - "$extra_pass" "$extra_fail" "$top"/build-test*/meson-logs/testlog.json "$top"/build-asan*/meson-logs/testlog.json <<'PY'
import json, sys, glob
passed, failed, skipped = int(sys.argv[1]), int(sys.argv[2]), 0
seen = set()
for path in sys.argv[3:]:
    for p in glob.glob(path):
        if p in seen:
            continue
        seen.add(p)
        for line in open(p):
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
