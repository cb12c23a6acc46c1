#!/usr/bin/env python3
"""PyTorch reference for the GPU training path (issue 15): images/s of full training steps (model +
loss + Adam) on real batches from a prepared dataset, for the same networks `agegender train` builds.

What it replicates (src/model/*.cpp and the compiled default config; `agegender config`, `agegender models`):
  - vgg16: torchvision's VGG16 `features` (13 conv3x3+ReLU, 5 maxpools); base_cnn: 4 blocks of
    conv3x3 (no bias)-BatchNorm-ReLU-maxpool2 with 32, 64, 128, 256 channels;
  - the "gap" head: global average pool -> Dropout(0.3) -> age_head Linear(C, 7) (the 7 "intuition"
    bins: edges 0, 3, 13, 20, 30, 45, 60) and gender_head Linear(C, 2);
  - the loss: CE(age class) + 1.0 * CE(gender), batch mean; Adam(lr 1e-3, weight_decay 0);
  - the input: uint8 HWC images from images.bin, uploaded as uint8, brought to the model size on the
    device (area when shrinking, bilinear half-pixel when enlarging), then the training augmentation
    of the default config on the device (shift 0.1 of the side with edge pixels replicated, horizontal
    flip, contrast 0.2 around the image mean, brightness 0.2, clamp to [0, 1]), then the plain
    normalisation (x - 0.5) / 0.25. (The C++ loader rounds the resized image to uint8; this does not.)
The training split of manifest.csv is used; the last partial batch of an epoch is dropped so every step
has the same shapes (torch.compile would otherwise recompile).

Output: exactly one JSON line on stdout per run; everything else goes to stderr.
  {"bench":"torch_eager|torch_compile","arch":..,"size":..,"amp":..,"channels_last":..,"batch":..,
   "device":..,"device_name":..,"params":..,"images_per_s":..,"steps":..}
Only the timed loop (`--steps` steps after `--warmup` steps) is measured, between two device
synchronisations; the data pipeline (host gather into pinned memory, copy, resize, augmentation) is
inside it.

usage: torch_reference.py --data DIR [--arch vgg16|base_cnn] [--size 224] [--mode eager|compile]
         [--amp off|bf16] [--channels-last] [--batch 64] [--steps 50] [--warmup 10] [--device cuda|cpu]
Smoke test on a CPU: --device cpu --arch base_cnn --size 32 --batch 8 --steps 2 --warmup 1
"""
import argparse
import csv
import json
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

INTUITION_EDGES = [0, 3, 13, 20, 30, 45, 60]  # AgeBinning::intuition(): 7 classes
NORM_MEAN, NORM_STD = 0.5, 0.25                 # Normalization::plain (no pretrained weights)
CACHE_MAGIC = b"AGIMGCAC"
MIN_SIZE = {"base_cnn": 16, "vgg16": 32}        # the registry's minimum input sizes


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --- the networks (src/model/vgg16.cpp, base_cnn.cpp, face_net.cpp) ---------------------------------

def vgg16_features(in_channels=3):
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers), c


def base_cnn_features(in_channels=3):
    layers, c = [], in_channels
    for width in (32, 64, 128, 256):
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                   nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        c = width
    return nn.Sequential(*layers), c


class FaceNet(nn.Module):
    """features -> GAP -> dropout -> age_head / gender_head (FaceNetImpl with model.head = "gap")."""

    def __init__(self, arch, num_age_classes=len(INTUITION_EDGES), dropout=0.3):
        super().__init__()
        make = {"vgg16": vgg16_features, "base_cnn": base_cnn_features}[arch]
        self.features, c = make(3)
        self.dropout = nn.Dropout(dropout)
        self.age_head = nn.Linear(c, num_age_classes)
        self.gender_head = nn.Linear(c, 2)

    def forward(self, x):
        h = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        h = self.dropout(h)
        return self.age_head(h), self.gender_head(h)


def face_loss(age_logits, gender_logits, age_class, gender, gender_weight=1.0):
    return F.cross_entropy(age_logits, age_class) + gender_weight * F.cross_entropy(gender_logits, gender)


# --- the prepared dataset (src/data/image_cache.cpp, manifest.csv) ---------------------------------

def load_prepared(data_dir, max_images):
    path = os.path.join(data_dir, "images.bin")
    with open(path, "rb") as f:
        header = f.read(64)
    if len(header) < 36 or header[:8] != CACHE_MAGIC:
        raise SystemExit(f"{path}: not an agegender image cache (magic {header[:8]!r})")
    version, header_size, count, height, width, channels = struct.unpack_from("<IIQIII", header, 8)
    if version != 1 or height != width or channels != 3:
        raise SystemExit(f"{path}: unsupported cache (version {version}, {height}x{width}x{channels})")
    images = np.memmap(path, dtype=np.uint8, mode="r", offset=header_size, shape=(count, height, width, channels))
    rows = []
    with open(os.path.join(data_dir, "manifest.csv"), newline="") as f:
        for i, r in enumerate(csv.DictReader(f)):
            if r["split"] == "train":
                rows.append((i, int(r["age"]), int(r["gender"])))
    if len(rows) == 0:
        raise SystemExit(f"{data_dir}: the manifest has no train rows")
    if rows[-1][0] >= count:
        raise SystemExit(f"{data_dir}: manifest has more rows than the cache's {count} images")
    rows = rows[:max_images] if max_images > 0 else rows
    index = np.array([r[0] for r in rows], dtype=np.int64)
    age_class = np.searchsorted(np.array(INTUITION_EDGES), np.array([r[1] for r in rows]), side="right") - 1
    gender = np.array([r[2] for r in rows], dtype=np.int64)
    pixels = torch.from_numpy(np.ascontiguousarray(images[index]))  # [N, H, W, 3] uint8
    return pixels, torch.from_numpy(age_class.astype(np.int64)), torch.from_numpy(gender), height


class Batches:
    """Shuffled epochs of uint8 batches gathered on the host into pinned buffers (a few, used in turn,
    each reused only after its copy finished) and copied asynchronously; labels likewise."""

    def __init__(self, pixels, age_class, gender, batch, device, seed, slots=3):
        self.pixels, self.age_class, self.gender = pixels, age_class, gender
        self.batch, self.device = batch, device
        self.per_epoch = pixels.shape[0] // batch
        if self.per_epoch == 0:
            raise SystemExit(f"the train split has {pixels.shape[0]} images, fewer than one batch of {batch}")
        self.gen = torch.Generator().manual_seed(seed)
        pin = device.type == "cuda"
        self.slots = [(torch.empty((batch,) + tuple(pixels.shape[1:]), dtype=torch.uint8, pin_memory=pin),
                       torch.empty(batch, dtype=torch.long, pin_memory=pin),
                       torch.empty(batch, dtype=torch.long, pin_memory=pin)) for _ in range(slots)]
        self.events = [None] * slots
        self.order, self.pos, self.turn = None, self.per_epoch, 0

    def next(self):
        if self.pos == self.per_epoch:
            self.order, self.pos = torch.randperm(self.pixels.shape[0], generator=self.gen), 0
        idx = self.order[self.pos * self.batch:(self.pos + 1) * self.batch]
        self.pos += 1
        s = self.turn
        self.turn = (self.turn + 1) % len(self.slots)
        if self.events[s] is not None:
            self.events[s].synchronize()  # that slot's copy of a few steps ago
        img, age, gender = self.slots[s]
        torch.index_select(self.pixels, 0, idx, out=img)
        torch.index_select(self.age_class, 0, idx, out=age)
        torch.index_select(self.gender, 0, idx, out=gender)
        out = tuple(t.to(self.device, non_blocking=True) for t in (img, age, gender))
        if self.device.type == "cuda":
            self.events[s] = torch.cuda.Event()
            self.events[s].record()
        return out


def to_model_input(u8, size, shift, hflip, contrast, brightness, channels_last):
    """uint8 [B, H, W, C] on the device -> augmented, normalised float [B, C, size, size]."""
    x = u8.permute(0, 3, 1, 2).float().div_(255.0)
    src = x.shape[-1]
    if size < src:
        x = F.interpolate(x, size=(size, size), mode="area")
    elif size > src:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    b, dev = x.shape[0], x.device
    pad = int(round(shift * size))
    ar = torch.arange(size, device=dev)
    sy = torch.randint(-pad, pad + 1, (b, 1), device=dev)
    sx = torch.randint(-pad, pad + 1, (b, 1), device=dev)
    cols = ar.expand(b, size)
    if hflip:
        cols = torch.where(torch.rand(b, 1, device=dev) < 0.5, size - 1 - cols, cols)
    yy = (ar.unsqueeze(0) + sy).clamp_(0, size - 1)
    xx = (cols + sx).clamp_(0, size - 1)
    # One gather for shift + flip: advanced indices around the channel slice give [B, S, S, C].
    x = x[torch.arange(b, device=dev)[:, None, None], :, yy[:, :, None], xx[:, None, :]].permute(0, 3, 1, 2)
    gain = 1.0 + contrast * (2 * torch.rand(b, 1, 1, 1, device=dev) - 1)
    offset = brightness * (2 * torch.rand(b, 1, 1, 1, device=dev) - 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * gain + mean + offset).clamp_(0.0, 1.0)
    x = (x - NORM_MEAN) * (1.0 / NORM_STD)
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/prepared/gpu1k", help="prepared dataset dir (manifest.csv + images.bin)")
    p.add_argument("--arch", choices=["vgg16", "base_cnn"], default="vgg16")
    p.add_argument("--size", type=int, default=224, help="model input side in pixels (128, 224, ...)")
    p.add_argument("--mode", choices=["eager", "compile"], default="eager")
    p.add_argument("--compile-mode", default="default", help="torch.compile mode (default, reduce-overhead, max-autotune)")
    p.add_argument("--amp", choices=["off", "bf16"], default="off")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=50, help="timed steps")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (compilation happens here)")
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    p.add_argument("--adam", choices=["default", "foreach", "fused"], default="default",
                   help="Adam implementation (default: PyTorch's choice, foreach on CUDA)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--shift", type=float, default=0.1)
    p.add_argument("--contrast", type=float, default=0.2)
    p.add_argument("--brightness", type=float, default=0.2)
    p.add_argument("--no-hflip", action="store_true")
    p.add_argument("--no-cudnn-benchmark", action="store_true")
    p.add_argument("--max-images", type=int, default=0, help="use at most this many train images (0 = all)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    if a.size < MIN_SIZE[a.arch]:
        p.error(f"--size {a.size} is too small for {a.arch} (minimum {MIN_SIZE[a.arch]})")
    if a.batch < 1 or a.steps < 1 or a.warmup < 0:
        p.error("--batch and --steps must be >= 1, --warmup >= 0")
    if a.mode == "compile":
        if not hasattr(torch, "compile"):
            log(f"torch_reference: --mode compile needs torch.compile (PyTorch >= 2.0); this is PyTorch {torch.__version__}")
            return 2
        if a.warmup < 2:
            p.error("--mode compile needs --warmup >= 2 (the first steps compile forward and backward)")
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        log(f"torch_reference: --device {a.device} but CUDA is not available (PyTorch {torch.__version__})")
        return 2
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not a.no_cudnn_benchmark

    pixels, age_class, gender, src_size = load_prepared(a.data, a.max_images)
    if device.type == "cuda":
        pixels, age_class, gender = pixels.pin_memory(), age_class.pin_memory(), gender.pin_memory()
    batches = Batches(pixels, age_class, gender, a.batch, device, a.seed)
    log(f"torch_reference: {pixels.shape[0]} train images at {src_size} px from {a.data}, PyTorch {torch.__version__}, "
        f"{device_name(device)}")

    model = FaceNet(a.arch).to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    params = sum(t.numel() for t in model.parameters())
    log(f"torch_reference: {a.arch} + gap head, {params:,} parameters")
    adam_kw = {} if a.adam == "default" else {a.adam: True}
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.weight_decay, **adam_kw)

    amp_on = a.amp == "bf16"

    def forward_loss(x, age, g):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp_on):
            age_logits, gender_logits = model(x)
            return face_loss(age_logits.float(), gender_logits.float(), age, g)

    fwd = torch.compile(forward_loss, mode=a.compile_mode) if a.mode == "compile" else forward_loss

    def step():
        u8, age, g = batches.next()
        x = to_model_input(u8, a.size, a.shift, not a.no_hflip, a.contrast, a.brightness, a.channels_last)
        loss = fwd(x, age, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    t_warm = time.perf_counter()
    for _ in range(a.warmup):
        loss = step()
    sync(device)
    if a.warmup:
        log(f"torch_reference: {a.warmup} warm-up steps in {time.perf_counter() - t_warm:.1f} s")
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync(device)
    seconds = time.perf_counter() - t0
    final_loss = float(loss.detach())
    if not np.isfinite(final_loss):
        log(f"torch_reference: the loss is not finite ({final_loss})")
        return 1
    log(f"torch_reference: {a.steps} steps in {seconds:.3f} s, last loss {final_loss:.4f}")
    print(json.dumps({
        "bench": f"torch_{a.mode}", "arch": a.arch, "size": a.size, "amp": a.amp, "channels_last": a.channels_last,
        "batch": a.batch, "device": device.type, "device_name": device_name(device), "params": params,
        "images_per_s": round(a.steps * a.batch / seconds, 1), "steps": a.steps,
    }, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
