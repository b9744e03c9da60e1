#!/bin/sh
# Checks one translation: msgfmt --check -c (formats, header, mnemonics with
# --check-accelerators=_), and that no message is untranslated or fuzzy.
set -eu
po=${1:?usage: check-po.sh FILE.po}
stats=$(LC_ALL=C msgfmt --check -c --check-accelerators=_ --statistics -o /dev/null "$po" 2>&1)
echo "$po: $stats"
case "$stats" in
  *untranslated*|*fuzzy*) echo "check-po.sh: $po is incomplete" >&2; exit 1 ;;
esac
