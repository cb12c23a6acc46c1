#!/usr/bin/env bash
# Speed benchmarks (programs, not tests). Prints what docs/benchmarks.md records. Run on an idle machine;
# compare ratios from one run, not absolute times across runs.
#   scripts/bench.sh [prepare|train|vgg16|predict|export|all] (default all)
# Needs ../shared/data/UTKFace.tar.gz (or UTKFACE=...) and, for predict and export, a trained run (RUN=runs/quickstart).
# AGEGENDER=path/to/agegender benchmarks another build's binary (default build/agegender).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
archive="${UTKFACE:-../shared/data/UTKFace.tar.gz}"
work="${BENCH_DIR:-/tmp/agegender-bench}"
mkdir -p "$work"
bin="${AGEGENDER:-build/agegender}"
# 2,000 UTKFace crops for predict, extracted once (outside the repository).
ensure_crops() {
  if [ ! -d "$work/crops" ]; then
    mkdir -p "$work/crops"
    tar -xzf "$archive" -C "$work/crops" --strip-components=1 --wildcards 'UTKFace/1*_*.jpg*'
    ls "$work/crops" | sort | tail -n +2001 | (cd "$work/crops" && xargs -r rm -f)
  fi
}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(build/agegender --version)"

if [ "$what" = prepare ] || [ "$what" = all ]; then
  echo "## prepare --size 128 over $archive"
  /usr/bin/time -f "wall %e s, peak RSS %M KB" build/agegender prepare --data "$archive" --out "$work/utk128" --size 128 --quiet
fi
if [ "$what" = train ] || [ "$what" = all ]; then
  echo "## base CNN training step, 64 px, batch 64, Adam: pure in-memory compute vs BatchLoader-fed"
  build/bench_train_throughput base_cnn 64 64 60 0 -1
  build/bench_train_throughput base_cnn 64 64 20 0 -1 untuned
fi
if [ "$what" = vgg16 ] || [ "$what" = all ]; then
  echo "## VGG16-GAP training step, batch 32, by trainable conv layers"
  for size in 64 128; do
    for t in 0 1 2 13; do build/bench_train_throughput vgg16 "$size" 32 8 0 "$t"; done
  done
fi
if [ "$what" = predict ] || [ "$what" = all ]; then
  run="${RUN:-runs/quickstart}"
  ensure_crops
  echo "## predict over $(ls "$work/crops" | wc -l) UTKFace crops with $run"
  for detect in none haar; do
    build/agegender predict --model "$run" --input "$work/crops" --out "$work/pred_$detect.csv" --detect "$detect" --quiet 2>&1 | tail -1
  done
fi
if [ "$what" = export ] || [ "$what" = all ]; then
  run="${RUN:-runs/quickstart}"
  ensure_crops
  "$bin" export --run "$run" --dynamic-batch --out "$work/model.onnx"
  echo "## predict --detect none over $(ls "$work/crops" | wc -l) UTKFace crops with $run: LibTorch vs OpenCV DNN on its export, alternating"
  for round in 1 2; do
    for engine in torch opencv; do
      model="$run"
      [ "$engine" = opencv ] && model="$work/model.onnx"
      printf '%s round %s: ' "$engine" "$round"
      "$bin" predict --engine "$engine" --model "$model" --input "$work/crops" --out "$work/pred_$engine.csv" --detect none --quiet 2>&1 | tail -1
    done
  done
  # Same rows, same age group and gender from both engines?
  python3 - "$work/pred_torch.csv" "$work/pred_opencv.csv" <<'PY'
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
same = sum(x["age_group"] == y["age_group"] and x["gender"] == y["gender"] for x, y in zip(a, b))
diff = max(abs(float(x[k]) - float(y[k])) for x, y in zip(a, b) for k in ("age_prob", "gender_prob") if x[k] and y[k])
print(f"rows {len(a)} vs {len(b)}; same age group and gender on {same}; max |age_prob/gender_prob diff| {diff:.2e} (CSV precision)")
PY
fi
