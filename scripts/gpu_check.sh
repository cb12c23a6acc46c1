#!/usr/bin/env bash
# Issue 15's one-call GPU check, for a lent CUDA machine (docs/gpu.md): builds against the pip PyTorch's
# LibTorch without OpenCV, runs the `gpu` tests, times agegender's training step (bench_train_step),
# the PyTorch reference (bench/torch_reference.py, eager and torch.compile) and `agegender train` end to
# end, and prints every figure with the card name, then a markdown table (also $OUT/gpu_check.md).
#
#   usage: scripts/gpu_check.sh [DATA=data/prepared/gpu1k]       (make DATA with scripts/gpu_data.sh)
#   device tool: run(command="scripts/gpu_check.sh", carry=["data/prepared/gpu1k", "data/gpu-deps"], timeout_s=600)
#
# Every stage is timed and limited; a failed stage is reported and the script goes on where it can;
# the exit status is non-zero if any stage failed. The whole run keeps inside GPU_CHECK_BUDGET seconds
# (stages that would start after it are skipped, and reported as such). Environment:
#   GPU_CHECK_DEVICE=cuda|cpu  (cpu: a dry run of the whole script on a machine without a GPU)
#   GPU_CHECK_BUILD=build-gpu  GPU_CHECK_SKIP_BUILD=0|1 (1: use the targets already in GPU_CHECK_BUILD)
#   GPU_CHECK_BUDGET=540  GPU_CHECK_JOBS=$(nproc)  GPU_CHECK_STEPS=50  GPU_CHECK_WARMUP=10
#   GPU_CHECK_COMPILE_WARMUP=10  GPU_CHECK_EPOCHS=5  GPU_CHECK_BATCH=64
#   GPU_CHECK_ARCHS="base_cnn vgg16"  GPU_CHECK_SIZES="128 224"  GPU_CHECK_THREADS=0  PYTHON=python3
#   GPU_CHECK_TARGET="vgg16 224" (arch and size of the target comparison: reference eager/compile + train)
#   GPU_CHECK_REFERENCE_FROM=FILE.jsonl: take the PyTorch reference figures from an earlier run's
#     gpu_check_results.jsonl on the same card instead of measuring them again (a rerun after a fix
#     then fits the session's device time); the summary says so.
# Build dependencies the machine lacks (CLI11, spdlog, nlohmann-json, GoogleTest) are
# taken from data/gpu-deps/*.deb (scripts/gpu_deps.sh), unpacked into a private prefix, if it travelled.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${1:-data/prepared/gpu1k}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
BUILD=${GPU_CHECK_BUILD:-build-gpu}
SKIP_BUILD=${GPU_CHECK_SKIP_BUILD:-0}
BUDGET=${GPU_CHECK_BUDGET:-540}
JOBS=${GPU_CHECK_JOBS:-$(nproc)}
STEPS=${GPU_CHECK_STEPS:-50}
WARMUP=${GPU_CHECK_WARMUP:-10}
COMPILE_WARMUP=${GPU_CHECK_COMPILE_WARMUP:-10}
EPOCHS=${GPU_CHECK_EPOCHS:-5}
BATCH=${GPU_CHECK_BATCH:-64}
ARCHS=${GPU_CHECK_ARCHS:-base_cnn vgg16}
SIZES=${GPU_CHECK_SIZES:-128 224}
THREADS=${GPU_CHECK_THREADS:-0}
read -r T_ARCH T_SIZE <<<"${GPU_CHECK_TARGET:-vgg16 224}"
PY=${PYTHON:-python3}
DEPS_DIR=${GPU_CHECK_DEPS:-data/gpu-deps}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
RESULTS=$WORK/results  # one JSON line per measured figure
mkdir -p "$RESULTS"
export DATA DEVICE BUILD JOBS PY DEPS_DIR WORK
if [[ -n ${OUT:-} ]]; then  # the device tool returns only the output's tail: the whole log comes back in $OUT
  mkdir -p "$OUT"
  exec > >(tee "$OUT/gpu_check.log") 2>&1
fi

if [[ $DEVICE == cuda ]]; then
  CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)
  CARD=${CARD:-unknown CUDA card (nvidia-smi failed)}
else
  CARD="$DEVICE: $(grep -m 1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
fi
export CARD
T_START=$SECONDS
FAILED=()
NOTES=()

say() { printf '%s\n' "$*"; }
banner() { say ""; say "=== $* [$CARD, +$((SECONDS - T_START)) s]"; }

# stage NAME LIMIT_S JSON_FILE|- CMD...: runs CMD under `timeout`, within what is left of the budget;
# with a JSON_FILE, CMD's stdout is also kept there (the figure). Returns CMD's status.
stage() {
  local name=$1 limit=$2 json=$3
  shift 3
  local left=$((BUDGET - (SECONDS - T_START)))
  if ((left < 10)); then
    banner "$name: SKIPPED, the ${BUDGET} s budget is spent"
    FAILED+=("$name (skipped: no time left)")
    return 1
  fi
  ((limit > left)) && limit=$left
  banner "$name (limit ${limit} s)"
  say "\$ $*"
  local t0=$SECONDS rc=0
  if [[ $json == - ]]; then
    timeout --kill-after=10 "$limit" "$@" || rc=$?
  else
    timeout --kill-after=10 "$limit" "$@" | tee "$json" || rc=${PIPESTATUS[0]}
  fi
  local took=$((SECONDS - t0))
  if ((rc == 0)); then
    say "--- $name: ok in ${took} s"
  else
    local why="rc $rc"
    ((rc == 124 || rc == 137)) && why="timed out after ${limit} s"
    say "--- $name: FAILED ($why) in ${took} s"
    FAILED+=("$name ($why)")
  fi
  return "$rc"
}

# --- the build ----------------------------------------------------------------------------------
unpack_deps() {  # the carried .debs, into a private prefix (dpkg -x never touches /)
  local prefix=$WORK/deps
  compgen -G "$DEPS_DIR/*.deb" >/dev/null || return 1
  mkdir -p "$prefix"
  for f in "$DEPS_DIR"/*.deb; do dpkg -x "$f" "$prefix"; done
  echo "$prefix/usr"
}

configure() {  # configure EXTRA_CMAKE_ARGS...
  local torch_prefix prefix_path
  torch_prefix=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  prefix_path=$torch_prefix
  [[ -f $WORK/deps_prefix ]] && prefix_path="$torch_prefix;$(cat "$WORK/deps_prefix")"
  cmake -S . -B "$BUILD" -G Ninja -DAGEGENDER_WITH_OPENCV=OFF -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix_path" "$@"
}

build_once() {  # build_once EXTRA_CMAKE_ARGS...: configure (with the carried deps if the machine's fail), build
  if ! configure "$@"; then
    [[ -f $WORK/deps_prefix ]] && return 1
    local p
    p=$(unpack_deps) || { echo "gpu_check: configure failed and no $DEPS_DIR/*.deb travelled (scripts/gpu_deps.sh)"; return 1; }
    echo "$p" >"$WORK/deps_prefix"
    echo "gpu_check: configure failed with the machine's packages; retrying with the carried ones in $p"
    export LD_LIBRARY_PATH="$p/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    configure "$@" || return 1
  fi
  # -k 0: a target that fails to compile does not stop the others (agegender alone still gives figures).
  cmake --build "$BUILD" -j "$JOBS" --target agegender bench_train_step gpu_tests -- -k 0
}

build_all() {
  say "cmake $(cmake --version | head -n 1 || true), ninja $(ninja --version || true), $(c++ --version | head -n 1 || true)"
  "$PY" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(),
            "cxx11 ABI", torch._C._GLIBCXX_USE_CXX11_ABI, "GPUs", torch.cuda.device_count())' || true
  # What the fmt shim (cmake/fmt_shim.cmake) hides LibTorch's own fmt from: its public headers that use it.
  local inc
  inc=$("$PY" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "include"))' 2>/dev/null || true)
  [[ -d $inc/fmt ]] && say "LibTorch ships fmt $(grep -m1 -h '#define FMT_VERSION' "$inc"/fmt/base.h "$inc"/fmt/core.h 2>/dev/null | head -n 1);" \
    "headers of c10/ATen/torch-api including it: $(grep -rl '#include <fmt/' "$inc"/c10 "$inc"/ATen "$inc"/torch/csrc/api 2>/dev/null | head -n 5 | tr '\n' ' ')"
  if build_once; then return 0; fi
  echo
  echo "!!!!!!!! gpu_check: the build FAILED; retrying ONCE with -DAGEGENDER_CUDA_GRAPHS=OFF !!!!!!!!"
  echo "cuda graphs off" >"$WORK/graphs_off"
  build_once -DAGEGENDER_CUDA_GRAPHS=OFF
}
export -f say unpack_deps configure build_once build_all

if [[ $SKIP_BUILD == 1 ]]; then
  banner "build: skipped (GPU_CHECK_SKIP_BUILD=1), using $BUILD"
else
  stage "build ($BUILD, no OpenCV, pip LibTorch)" 330 - bash -euo pipefail -c build_all || true
  if [[ -f $WORK/graphs_off ]]; then
    NOTES+=("BUILT WITH -DAGEGENDER_CUDA_GRAPHS=OFF: the default build failed (see the log above)")
    say "!!!!!!!! built with -DAGEGENDER_CUDA_GRAPHS=OFF (the default configuration failed) !!!!!!!!"
  fi
  if [[ -f $WORK/deps_prefix ]]; then
    NOTES+=("built with the carried Debian packages from $DEPS_DIR")
    LD_LIBRARY_PATH="$(cat "$WORK/deps_prefix")/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
  fi
fi
AG=$BUILD/agegender
BENCH=$BUILD/bench_train_step
BUILT=0
[[ -x $AG ]] && BUILT=1

# --- the gpu tests ------------------------------------------------------------------------------
if ((BUILT)); then
  stage "ctest -L gpu" 120 "$WORK/ctest_gpu.txt" ctest --test-dir "$BUILD" -L gpu --no-tests=error --output-on-failure || true
  if [[ $DEVICE == cuda ]] && grep -q "(Skipped)" "$WORK/ctest_gpu.txt"; then
    NOTES+=("gpu tests were SKIPPED on this CUDA machine (see the ctest output above)")
  fi
else
  FAILED+=("ctest -L gpu (not run: no build)")
fi

# --- figures ------------------------------------------------------------------------------------
REFERENCE_FROM=${GPU_CHECK_REFERENCE_FROM:-}
if [[ -n $REFERENCE_FROM ]]; then
  grep '"bench":"torch_' "$REFERENCE_FROM" | awk -v d="$RESULTS" '{ print > (d "/reused_reference_" NR ".json") }'
  NOTES+=("PyTorch reference figures reused from $REFERENCE_FROM (an earlier run of this script), not measured in this run")
fi
ref() {  # ref MODE ARCH SIZE AMP [--channels-last]
  local mode=$1 arch=$2 size=$3 amp=$4 cl=${5:-} warm=$WARMUP limit=90
  [[ -n $REFERENCE_FROM ]] && return 0
  [[ $mode == compile ]] && warm=$COMPILE_WARMUP limit=240
  stage "torch_reference $mode $arch $size $amp${cl:+ channels-last}" $limit \
    "$RESULTS/torch_${mode}_${arch}_${size}_${amp}${cl:+_cl}.json" \
    env PYTHONUNBUFFERED=1 "$PY" bench/torch_reference.py --data "$DATA" --device "$DEVICE" --mode "$mode" \
    --arch "$arch" --size "$size" --amp "$amp" ${cl:+"$cl"} --batch "$BATCH" --steps "$STEPS" --warmup "$warm" \
    --threads "$THREADS" || true
}

step_bench() {  # step_bench ARCH SIZE AMP [--channels-last]
  local arch=$1 size=$2 amp=$3 cl=${4:-}
  if [[ ! -x $BENCH ]]; then FAILED+=("bench_train_step $arch $size $amp (not built)"); return; fi
  stage "bench_train_step $arch $size $amp${cl:+ channels-last}" 90 \
    "$RESULTS/agegender_step_${arch}_${size}_${amp}${cl:+_cl}.json" \
    "$BENCH" --data "$DATA" --arch "$arch" --size "$size" --amp "$amp" ${cl:+"$cl"} --batch "$BATCH" \
    --steps "$STEPS" --warmup "$WARMUP" --device "$DEVICE" --threads "$THREADS" || true
}

train_e2e() {  # agegender train end to end at 224 px bf16 channels-last vgg16; images/s of the last epoch
  local runs=$WORK/runs name=e2e_${T_ARCH}_${T_SIZE}_bf16
  if ! ((BUILT)); then FAILED+=("agegender train (not built)"); return; fi
  stage "agegender train $T_ARCH $T_SIZE bf16 channels-last, $EPOCHS epochs" 180 - \
    "$AG" train --name "$name" --set data.prepared="$DATA" --set output.dir="$runs" \
    --set model.arch="$T_ARCH" --set data.size="$T_SIZE" --set train.batch_size="$BATCH" --set train.epochs="$EPOCHS" \
    --set train.device="$DEVICE" --set train.amp=bf16 --set train.channels_last=true \
    --set train.threads="$THREADS" || return 0
  local csv=$runs/$name/metrics.csv
  [[ -f $csv ]] || { FAILED+=("agegender train: no $csv"); return; }
  say "metrics.csv:"
  cat "$csv"
  local result=$RESULTS/agegender_train_${T_ARCH}_${T_SIZE}_bf16_cl.json
  "$PY" - "$csv" "$DEVICE" "$CARD" "$BATCH" "$T_ARCH" "$T_SIZE" >"$result" <<'EOF' ||
import csv, json, sys
path, device, card, batch, arch, size = sys.argv[1:]
rows = list(csv.DictReader(open(path)))
per_epoch = [float(r["images_per_s"]) for r in rows]
print(json.dumps({"bench": "agegender_train", "arch": arch, "size": int(size), "amp": "bf16", "channels_last": True,
                  "batch": int(batch), "device": device, "device_name": card, "images_per_s": per_epoch[-1],
                  "epochs": len(per_epoch), "images_per_s_by_epoch": per_epoch}, separators=(",", ":")))
EOF
    FAILED+=("agegender train: metrics.csv has no images_per_s")
  cat "$result"
  # Device-independent checkpoint: the GPU-trained run evaluates on the CPU.
  stage "agegender eval --device cpu (the GPU-trained run)" 90 - \
    "$AG" eval --run "$runs/$name" --device cpu --format md --out "$WORK/eval_cpu" || true
}

# The issue's target first (the three figures of the 224 px bf16 channels-last comparison), then the grids.
ref eager "$T_ARCH" "$T_SIZE" bf16 --channels-last
ref compile "$T_ARCH" "$T_SIZE" bf16 --channels-last
train_e2e
for arch in $ARCHS; do
  for size in $SIZES; do
    step_bench "$arch" "$size" off
    step_bench "$arch" "$size" bf16 --channels-last
  done
done
for arch in $ARCHS; do
  for size in $SIZES; do
    ref eager "$arch" "$size" off
    [[ $arch == "$T_ARCH" && $size == "$T_SIZE" ]] || ref eager "$arch" "$size" bf16 --channels-last
  done
done

# --- summary ------------------------------------------------------------------------------------
banner "summary"
SUMMARY=$WORK/gpu_check.md
FAILED_TEXT=$(printf '%s\n' "${FAILED[@]+"${FAILED[@]}"}")
NOTES_TEXT=$(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}")
"$PY" - "$RESULTS" "$CARD" "$DEVICE" "$BATCH" "$STEPS" "$((SECONDS - T_START))" "$FAILED_TEXT" "$NOTES_TEXT" >"$SUMMARY" <<'EOF' || true
import glob, json, os, sys
results, card, device, batch, steps, seconds, failed, notes = sys.argv[1:]
runs = {}
for path in sorted(glob.glob(os.path.join(results, "*.json"))):
    lines = [l for l in open(path).read().splitlines() if l.startswith("{")]
    if not lines:
        continue
    r = json.loads(lines[-1])
    key = (r["arch"], int(r["size"]), r["amp"], bool(r["channels_last"]))
    runs.setdefault(key, {})[r["bench"]] = r

def fmt(r):
    if not r or r.get("images_per_s") is None:
        return "—"
    return f'{r["images_per_s"]:,.0f}' + (" (graphed)" if r.get("cuda_graphs") else "")

def ratio(a, b):
    return f'{a["images_per_s"] / b["images_per_s"]:.2f}x' if a and b and b.get("images_per_s") else "—"

print(f"## GPU check: {card}")
print()
print(f"device {device}, batch {batch}, {steps} timed steps per bench run; images/s; {seconds} s in all.")
print()
print("| arch | size | precision | params (ours / torch) | agegender step | torch eager | torch.compile | agegender train (e2e) | train / compile | train / eager |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key in sorted(runs):
    arch, size, amp, cl = key
    r = runs[key]
    step, eager, comp, train = (r.get(b) for b in ("agegender_step", "torch_eager", "torch_compile", "agegender_train"))
    params = f'{(step or {}).get("params", "—")} / {(eager or comp or {}).get("params", "—")}'
    prec = "fp32" if amp == "off" else amp
    prec += " channels-last" if cl else ""
    print(f"| {arch} | {size} | {prec} | {params} | {fmt(step)} | {fmt(eager)} | {fmt(comp)} | {fmt(train)} | "
          f"{ratio(train, comp)} | {ratio(train, eager)} |")
print()
print("Targets (issue 15): agegender train end to end at 224 px bf16 >= 1.0x torch.compile and >= 1.4x eager.")
print("agegender train (e2e): images/s of the last epoch in metrics.csv (data loading, augmentation, step; validation excluded).")
for n in filter(None, notes.splitlines()):
    print(f"\n**Note: {n}**")
bad = list(filter(None, failed.splitlines()))
print()
print("Stages failed: " + ("none" if not bad else "; ".join(bad)))
EOF
cat "$SUMMARY"
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  cp "$SUMMARY" "$OUT/gpu_check.md"
  cat "$RESULTS"/*.json >"$OUT/gpu_check_results.jsonl" 2>/dev/null || true
fi
rm -rf "$WORK/deps" "$WORK/runs"
if ((${#FAILED[@]})); then
  say ""
  say "gpu_check: ${#FAILED[@]} stage(s) failed on $CARD:"
  printf '  - %s\n' "${FAILED[@]}"
  exit 1
fi
say "gpu_check: all stages passed on $CARD"
