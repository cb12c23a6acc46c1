#!/usr/bin/env bash
# Peak anonymous memory (RssAnon: heap, not the memory-mapped cache's file pages) of one training epoch
# on synthetic prepared sets of N and 10 x N images: flat when batches stream from the cache.
#   scripts/train_memory.sh [N=20000] [SIZE=32]     (writes data/bench_mem_*, runs/bench_mem_*)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
SIZE=${2:-32}
BIN=build/agegender
[ -x "$BIN" ] || { echo "build first: scripts/setup.sh" >&2; exit 2; }

peak_anon() {  # runs "$@", samples /proc/PID/status every 0.1 s, prints the peak RssAnon in MiB
  "$@" > /dev/null 2>&1 &
  local pid=$! peak=0 kb
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.1
  done
  wait "$pid"
  echo $((peak / 1024))
}

for n in "$N" $((N * 10)); do
  dir=data/bench_mem_$n
  [ -f "$dir/images.bin" ] || /usr/bin/python3 scripts/make_synthetic_prepared.py "$dir" "$n" "$SIZE"
  rm -rf "runs/bench_mem_$n"
  start=$(date +%s)
  mib=$(peak_anon "$BIN" train --set data.prepared="$dir" --set data.size="$SIZE" --set train.epochs=1 \
        --set train.early_stopping.patience=0 --name "bench_mem_$n" --quiet)
  echo "images=$n size=${SIZE}px peak RssAnon ${mib} MiB ($(( $(date +%s) - start )) s)"
done
