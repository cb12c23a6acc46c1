#!/usr/bin/env bash
# Reproduce the seed study's tables with `agegender sweep`, one sweep per table.
#   scripts/reproduce_tables.sh --profile ci|full [--jobs J] [-- SWEEP_ARGS...]
# SWEEP_ARGS go to every `agegender sweep`, e.g. to run the tables on a Slurm cluster:
#   scripts/reproduce_tables.sh --profile full -- --slurm --partition gpu --gpus-per-task 1 --set train.device=cuda
# full: as in the seed (64 px base CNN; VGG16 at 128/224 px from ImageNet weights, which must be at
#       models/vgg16.tv_in1k.safetensors — scripts/fetch_vgg16.sh; VGG16 tables are skipped without them).
#       face_resnet tables need models/face-api (scripts/fetch_face_models.sh) and a 150 px prepared set.
# ci:   scaled down to finish in minutes on 2 cores: 32 px, a subset of each split, 1-2 epochs, VGG16 from
#       random init. Tables land in runs/tables-<profile>/<table>/table.{md,csv}; rerunning resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=ci
jobs=()
sweep_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --jobs) jobs=(--jobs "$2"); shift 2 ;;
    --) shift; sweep_args=("$@"); break ;;
    *) echo "usage: $0 --profile ci|full [--jobs J] [-- SWEEP_ARGS...]" >&2; exit 2 ;;
  esac
done
BIN=build/agegender
[ -x "$BIN" ] || AGEGENDER_SKIP_INSTALL=1 scripts/setup.sh
archive="${UTKFACE:-../shared/data/UTKFace.tar.gz}"
[ -e "$archive" ] || { echo "reproduce_tables: UTKFace not found at $archive (set UTKFACE=...)" >&2; exit 2; }
out="runs/tables-$profile"
weights=models/vgg16.tv_in1k.safetensors

prepare() {  # prepare SIZE -> data/prepared/utkSIZE
  [ -f "data/prepared/utk$1/meta.json" ] || "$BIN" prepare --data "$archive" --out "data/prepared/utk$1" --size "$1" --quiet
}
sweep() {  # sweep NAME BASE GRID [--set ...]
  local name="$1" base="$2" grid="$3"; shift 3
  echo "== $name ($grid)"
  "$BIN" sweep -c "$base" --grid "configs/sweeps/$grid" --name "$name" "${jobs[@]}" --quiet \
    --set "output.dir=\"$out\"" "$@" "${sweep_args[@]}"
}

case "$profile" in
  ci)
    prepare 32
    prepare 64
    small=(--set 'data.prepared="data/prepared/utk32"' --set data.size=32 --set train.early_stopping.patience=0)
    sweep base_cnn_models configs/_base_cnn.json base_cnn_models.json "${small[@]}" --set data.subset=0.25 --set train.epochs=2
    vgg=("${small[@]}" --set 'model.pretrained=""' --set data.subset=0.05 --set train.epochs=1)
    sweep vgg16_models configs/_vgg16_gap.json vgg16_models.json "${vgg[@]}"
    for t in resize_ci batch_size lr unfreeze; do
      sweep "vgg16_$t" configs/finetune/_vgg16_transfer.json "vgg16_$t.json" "${vgg[@]}" --set 'data.prepared="data/prepared/utk64"'
    done
    ;;
  full)
    prepare 128
    sweep base_cnn_models configs/_base_cnn.json base_cnn_models.json
    if [ -f "$weights" ]; then
      prepare 224
      sweep vgg16_models configs/_vgg16_gap.json vgg16_models.json --set "model.pretrained=\"$weights\""
      for t in resize batch_size lr unfreeze; do sweep "vgg16_$t" configs/finetune/_vgg16_transfer.json "vgg16_$t.json"; done
    else
      echo "reproduce_tables: $weights missing: VGG16 tables skipped (get them with scripts/fetch_vgg16.sh)" >&2
    fi    # face_resnet (face-api's face-trained ResNet, 150 px, cached features): the binnings and the
    # fine-tuning questions (layers to unfreeze, lr, batch size, head). Not in ci: it needs the face models
    # and one pass of the whole network over every image to fill its feature cache.
    if [ -f models/face-api/face_recognition_model-weights_manifest.json ]; then
      prepare 150
      sweep face_resnet_models configs/_face_resnet.json face_resnet_models.json
      sweep face_resnet_finetune configs/_face_resnet.json face_resnet_finetune.json
    else
      echo "reproduce_tables: models/face-api missing: face_resnet tables skipped (scripts/fetch_face_models.sh)" >&2
    fi
    ;;
  *) echo "reproduce_tables: unknown profile '$profile' (ci or full)" >&2; exit 2 ;;
esac
echo "tables:"; ls "$out"/*/table.md 2>/dev/null || echo "  none yet (a Slurm submission writes them when its table jobs end)"
