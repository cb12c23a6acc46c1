#!/usr/bin/env bash
# Download torchvision's ImageNet VGG16 weights as safetensors (Hugging Face hub: timm/vgg16.tv_in1k) for
# `model.pretrained`. Needs internet; checks the size and that the header holds VGG16's features.* layout.
#   scripts/fetch_vgg16.sh [DEST=models/vgg16.tv_in1k.safetensors]
# Set VGG16_SHA256=<hex> to also pin the file's checksum (the script prints it after each download).
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-models/vgg16.tv_in1k.safetensors}"
url="https://huggingface.co/timm/vgg16.tv_in1k/resolve/main/model.safetensors"
# 138,357,544 float32 parameters = 553,430,176 bytes of data, plus a JSON header of a few KB.
min_bytes=553430176
max_bytes=553530176

mkdir -p "$(dirname "$dest")"
tmp="$dest.part"
trap 'rm -f "$tmp"' EXIT
echo "fetch_vgg16: downloading $url"
if ! curl -fL --retry 2 --connect-timeout 15 -o "$tmp" "$url"; then
  echo "fetch_vgg16: download failed (no internet access?). On a machine with internet, run this script or" >&2
  echo "  fetch $url and copy it to $dest; then train with --set model.pretrained=$dest" >&2
  exit 1
fi
size=$(stat -c %s "$tmp")
if [ "$size" -lt "$min_bytes" ] || [ "$size" -gt "$max_bytes" ]; then
  echo "fetch_vgg16: unexpected size $size bytes (expected about $min_bytes): not the VGG16 weights" >&2
  exit 1
fi
header_len=$(od -An -t u8 -N 8 "$tmp" | tr -d ' ')
if ! head -c $((8 + header_len)) "$tmp" | tail -c "$header_len" | grep -q '"features.28.weight":{"dtype":"F32","shape":\[512,512,3,3\]'; then
  echo "fetch_vgg16: header lacks features.28.weight [512,512,3,3]: not torchvision-layout VGG16" >&2
  exit 1
fi
sha=$(sha256sum "$tmp" | cut -d' ' -f1)
if [ -n "${VGG16_SHA256:-}" ] && [ "$sha" != "$VGG16_SHA256" ]; then
  echo "fetch_vgg16: sha256 $sha does not match VGG16_SHA256=$VGG16_SHA256" >&2
  exit 1
fi
mv "$tmp" "$dest"
trap - EXIT
echo "fetch_vgg16: saved $dest ($size bytes, sha256 $sha)"
echo "train with: build/agegender train -c configs/vgg16_gap_intuition.json --set model.pretrained=$dest"
