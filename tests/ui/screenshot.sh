#!/bin/sh
# Screenshot test of the dialog: runs test-dialog under a virtual X server,
# waits until the first preview has been computed, saves a PNG of the
# screen with ImageMagick's `import` and closes the dialog.
#
#   screenshot.sh TEST-DIALOG [OUTPUT.png] [test-dialog options...]
#
# Exit 77 (skipped) without Xvfb or ImageMagick. Fails if the dialog does not
# come up, the preview reports an error, or the program does not exit cleanly.
set -u

prog=${1:?usage: screenshot.sh TEST-DIALOG [OUTPUT.png] [options...]}
shift
out=${1:-${IODINE_BUILD_DIR:-.}/dialog-screenshot.png}
[ $# -gt 0 ] && shift

for tool in Xvfb import xdpyinfo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    [ "$tool" = xdpyinfo ] && continue
    echo "screenshot.sh: $tool not found, skipping" >&2
    exit 77
  fi
done

work=$(mktemp -d)
ready=$work/ready
trap 'rm -rf "$work"; [ -n "${xpid:-}" ] && kill "$xpid" 2>/dev/null' EXIT

# A free display number
n=99
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1100x760x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xpid=$!
export DISPLAY=":$n"
i=0
while [ ! -e "/tmp/.X11-unix/X$n" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$xpid" 2>/dev/null; then
    echo "screenshot.sh: Xvfb did not start" >&2
    cat "$work/xvfb.log" >&2
    exit 77
  fi
  sleep 0.1
done

# No accessibility bus, no settings daemon, no theme surprises
export NO_AT_BRIDGE=1 GTK_THEME=${GTK_THEME:-Adwaita} GDK_BACKEND=x11
"$prog" --ready-file "$ready" --quit-after-ms 120000 "$@" >"$work/out.log" 2>&1 &
ppid=$!

i=0
while [ ! -s "$ready" ]; do
  i=$((i + 1))
  if ! kill -0 "$ppid" 2>/dev/null; then
    echo "screenshot.sh: test-dialog exited early" >&2
    cat "$work/out.log" >&2
    exit 1
  fi
  if [ $i -gt 1200 ]; then
    echo "screenshot.sh: no preview after 120 s" >&2
    kill "$ppid"
    cat "$work/out.log" >&2
    exit 1
  fi
  sleep 0.1
done
sleep 0.5

import -window root "$out" || { echo "screenshot.sh: import failed" >&2; kill "$ppid"; exit 1; }
echo "screenshot: $out"

status=$(cat "$ready")
rm -f "$ready"   # test-dialog closes its dialog and exits
wait "$ppid"
rc=$?
cat "$work/out.log"
if [ $rc -ne 0 ]; then
  echo "screenshot.sh: test-dialog exited with status $rc" >&2
  exit 1
fi
case "$status" in
  ok*) exit 0 ;;
  *) echo "screenshot.sh: the preview failed" >&2; exit 1 ;;
esac
