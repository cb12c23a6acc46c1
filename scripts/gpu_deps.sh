#!/usr/bin/env bash
# Downloads (does not install) the Debian packages of the build's C++ dependencies that a lent CUDA
# machine may lack — CLI11, spdlog + fmt, nlohmann-json, GoogleTest — into data/gpu-deps/ (git-ignored,
# ~2 MB), to travel with scripts/gpu_check.sh (run(carry=[..., "data/gpu-deps"])).
# There, gpu_check.sh unpacks them with `dpkg -x` into a private prefix (never into /) and points CMake
# at it, only where the machine's own packages are missing. LibTorch comes from the pip PyTorch there.
# ONNX is left out on purpose: it is optional (export), and Debian's protobuf beside pip's LibTorch is
# a risk the GPU check does not need.
#   usage: scripts/gpu_deps.sh [OUT=data/gpu-deps]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/gpu-deps}
pkgs=(libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev libgtest-dev libgmock-dev googletest)
rm -rf "$out"
mkdir -p "$out"
(cd "$out" && apt-get download "${pkgs[@]}")
du -sh "$out"
ls "$out"
