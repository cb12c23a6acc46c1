#!/usr/bin/env bash
# Install every Debian package agegender needs, then configure and build Release into build/.
# Idempotent; runs as root or through sudo. Set AGEGENDER_SKIP_INSTALL=1 to only build.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0
  libopencv-dev opencv-data
  libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev
  libarchive-dev
  libturbojpeg0-dev                   # JPEG size before decoding (--max-pixels) and corrupt JPEGs as errors
  libonnx-dev python3-onnx            # export: ONNX's protobuf classes; tests: onnx.checker with shape inference
  time                                # /usr/bin/time in scripts/bench.sh
  python3-torch python3-torchvision   # parity tests against torchvision's VGG16
  python3-protobuf                    # tests/python/read_tfevents.py: decodes our TensorBoard files independently
  slurmctld slurmd slurm-client munge # the single-node Slurm that tests `sweep --slurm`
  chromium                            # headless: the visitors report renders without console errors (~80 MB)
)

# Node runs face-api's own networks for the parity tests (tests/reference) and npm fetches the face
# models (scripts/fetch_face_models.sh). Machines that already have a Node with npm keep it.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

if [ "${AGEGENDER_SKIP_INSTALL:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup: all Debian packages present"
  fi
fi

launcher=()
# ccache must be told that precompiled headers are safe to cache.
command -v ccache >/dev/null &&
  launcher=("-DCMAKE_CXX_COMPILER_LAUNCHER=env;CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;ccache")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@"
cmake --build build -j"$(nproc)"
