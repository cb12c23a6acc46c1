#!/usr/bin/env bash
# Run the whole test suite (unit + integration on ../shared UTKFace when present) through CTest.
# Builds first if needed. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || AGEGENDER_SKIP_INSTALL=1 scripts/setup.sh
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900 "$@"
