#!/usr/bin/env bash
# Fine-tune face-api's SSD face detector on hard composed scenes of UTKFace's train split (small, dim,
# rotated, occluded, JPEG-damaged faces) and write a complete face models folder with it.
#
# Usage: scripts/tune_face_detector.sh [OUT_DIR] [-- bench_train_detector options]
#   OUT_DIR default: <repo>/models/face-api-tuned. Needs build/bench_train_detector, the face models
#   (scripts/fetch_face_models.sh), the archive ../shared/data/UTKFace.tar.gz and a prepared dataset
#   (PREPARED, default data/prepared/utk150: `agegender prepare --size 150 --out data/prepared/utk150`),
#   whose test split stays unseen. About 12 minutes on 2 cores. Use the result with `--models OUT_DIR`
#   (predict, embed, visitors, export); face-api itself (TF.js) loads it too.
# Exit codes: 0 ok, 1 failure, 2 bad usage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${ROOT}/models/face-api-tuned"
if [[ $# -gt 0 && "$1" != "--" ]]; then
  [[ "$1" == "-h" || "$1" == "--help" ]] && { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
  OUT="$1"; shift
fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
ARCHIVE="${ARCHIVE:-${ROOT}/../shared/data/UTKFace.tar.gz}"
PREPARED="${PREPARED:-${ROOT}/data/prepared/utk150}"
MODELS="${MODELS:-${ROOT}/models/face-api}"
BIN="${ROOT}/build/bench_train_detector"
[[ -x "${BIN}" ]] || { echo "tune_face_detector: ${BIN} missing (build first: cmake --build build -j2)" >&2; exit 1; }
[[ -f "${ARCHIVE}" ]] || { echo "tune_face_detector: archive ${ARCHIVE} missing (set ARCHIVE)" >&2; exit 2; }
[[ -d "${PREPARED}" ]] || { echo "tune_face_detector: prepared dataset ${PREPARED} missing (set PREPARED, or run agegender prepare)" >&2; exit 2; }
# The measured recipe (docs/benchmarks.md, session 18): 600 steps of 8 scenes at 640x480, Adam 5e-5
# with warm-up and cosine decay, MobileNet layers below Conv2d_6 frozen.
exec "${BIN}" "${ARCHIVE}" "${PREPARED}" "${OUT}" --models "${MODELS}" --steps 600 --batch 8 --lr 5e-5 --freeze-below 6 \
  --side 640 --seed 1 "$@"
