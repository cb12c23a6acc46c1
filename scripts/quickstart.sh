#!/usr/bin/env bash
# The main job in one command: prepare UTKFace (once) -> train configs/quickstart.json -> eval on test.
# Ends with the seed study's markdown result row. Extra arguments go to `agegender train` (e.g. --epochs 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/agegender
[ -x "$BIN" ] || AGEGENDER_SKIP_INSTALL=1 scripts/setup.sh

src=""
for candidate in "${UTKFACE:-}" data/UTKFace.tar.gz data/UTKFace ../shared/data/UTKFace.tar.gz; do
  if [ -n "$candidate" ] && [ -e "$candidate" ]; then src="$candidate"; break; fi
done
if [ -z "$src" ]; then
  cat >&2 <<'MSG'
quickstart: UTKFace not found. Looked at $UTKFACE, data/UTKFace.tar.gz, data/UTKFace/ and ../shared/data/UTKFace.tar.gz.
Get the "Aligned & Cropped Faces" set (UTKFace.tar.gz, 23,708 JPEGs named AGE_GENDER_RACE_DATETIME.jpg.chip.jpg;
non-commercial research use only) from the UTKFace project page (https://susanqq.github.io/UTKFace/) or the
Kaggle mirror "jangedoo/utkface-new", then either put it at data/UTKFace.tar.gz (or extract to data/UTKFace/),
or run: UTKFACE=/path/to/UTKFace.tar.gz scripts/quickstart.sh
MSG
  exit 2
fi

prepared=data/prepared/utk64
if [ ! -f "$prepared/meta.json" ]; then
  "$BIN" prepare --data "$src" --out "$prepared" --size 64
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BIN" train --config configs/quickstart.json "$@" | tee "$out"
run=$(sed -n 's/^run: //p' "$out")
"$BIN" eval --run "$run" --split test
