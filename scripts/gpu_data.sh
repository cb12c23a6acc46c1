#!/usr/bin/env bash
# Makes the small prepared set that travels to a lent CUDA machine for scripts/gpu_check.sh (the device
# tool carries at most 64 MiB): N UTKFace images (every k-th file of the archive, so every age is
# represented; default 1,000) at 128 px, prepared by the normal `agegender prepare`, split 90/5/5 so an
# epoch has as many training batches as the size allows. Output is git-ignored (data/); never commit it.
#   usage: scripts/gpu_data.sh [ARCHIVE=../shared/data/UTKFace.tar.gz] [OUT=data/prepared/gpu1k] [N=1000]
#   env:   AGEGENDER_BIN (default build/agegender: an OpenCV build, since prepare decodes JPEGs)
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${1:-../shared/data/UTKFace.tar.gz}
out=${2:-data/prepared/gpu1k}
n=${3:-1000}
bin=${AGEGENDER_BIN:-build/agegender}
[[ -f $archive ]] || { echo "gpu_data: no archive at $archive" >&2; exit 2; }
[[ -x $bin ]] || { echo "gpu_data: no $bin (build the OpenCV build first: scripts/setup.sh, cmake --build build)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -tzf "$archive" | grep -E '\.jpg$' >"$tmp/all"
total=$(wc -l <"$tmp/all")
(( total >= n )) || { echo "gpu_data: the archive has $total images, fewer than $n" >&2; exit 2; }
awk -v step=$((total / n)) 'NR % step == 1' "$tmp/all" | head -n "$n" >"$tmp/pick"
mkdir -p "$tmp/src"
tar -xzf "$archive" -C "$tmp/src" -T "$tmp/pick"

rm -rf "$out"
"$bin" prepare --data "$tmp/src" --out "$out" --size 128 --split 0.9,0.05,0.05 --threads "${THREADS:-1}" --quiet
rm -rf "$out/eda"  # charts only; they would travel for nothing
du -sh "$out"
echo "gpu_data: $(($(wc -l <"$out/manifest.csv") - 1)) images in $out (carry it: run(carry=[\"$out\"]))"
