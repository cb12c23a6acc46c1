#!/usr/bin/env python3
"""Side by side: an agegender run vs face-api's own age/gender network on the same test crops.

Usage: scripts/compare_face_api.py --run RUN [--data data/prepared/utk150] [--split test] [--tta]
                                   [--models models/face-api] [--agegender build/agegender] [--threads 2]

1. `agegender eval --run RUN --split SPLIT --predictions P.csv [--tta]` scores the run and writes one row per
   image (expected age, P(female));
2. the same crops (the prepared cache's RGB squares, read straight from images.bin) go to face-api's
   ageGenderNet through the pinned Node reference (tests/reference/face_api_ref.mjs --task age_gender);
3. prints markdown tables: overall, per age band (the intuition groups, plus 0-12 and 60+) and per race,
   with n, age MAE and gender accuracy for both.
Nothing is written outside a temporary folder. face-api's age/gender model was reportedly trained partly on
UTKFace: its numbers on UTKFace crops may be optimistic.
"""
import argparse
import csv
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RACES = ["White", "Black", "Asian", "Indian", "Others"]
BANDS = [("0-2", 0, 2), ("3-12", 3, 12), ("13-19", 13, 19), ("20-29", 20, 29), ("30-44", 30, 44), ("45-59", 45, 59),
         ("60+", 60, 200), ("0-12", 0, 12)]


def read_crops(prepared, files):
    """RGB squares of `files` (manifest order) from images.bin: 64-byte header (magic, version, header size, count, h, w, c)."""
    rows = {}
    with open(os.path.join(prepared, "manifest.csv"), newline="") as f:
        for i, r in enumerate(csv.DictReader(f)):
            rows[r["file"]] = i
    with open(os.path.join(prepared, "images.bin"), "rb") as f:
        header = f.read(64)
        count, h, w, c = struct.unpack_from("<QIII", header, 16)
        size = h * w * c
        out = []
        for name in files:
            f.seek(64 + rows[name] * size)
            out.append((h, w, f.read(size)))
    return out


def stats(items, age_key, female_key):
    n = len(items)
    if n == 0:
        return n, float("nan"), float("nan")
    mae = sum(abs(float(r[age_key]) - int(r["age"])) for r in items) / n
    gender = sum((float(r[female_key]) >= 0.5) == (r["gender"] == "1") for r in items) / n
    return n, mae, gender


def table(title, groups, rows):
    print(f"\n#### {title}\n")
    print("| group | n | MAE ours | MAE face-api | gender ours | gender face-api |")
    print("|---|---|---|---|---|---|")
    for name, pred in groups:
        items = [r for r in rows if pred(r)]
        n, mae, g = stats(items, "expected_age", "female_prob")
        _, fmae, fg = stats(items, "faceapi_age", "faceapi_female")
        print(f"| {name} | {n} | {mae:.2f} | {fmae:.2f} | {100 * g:.2f}% | {100 * fg:.2f}% |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", default="")
    ap.add_argument("--split", default="test")
    ap.add_argument("--tta", action="store_true")
    ap.add_argument("--models", default=os.path.join(ROOT, "models", "face-api"))
    ap.add_argument("--agegender", default=os.path.join(ROOT, "build", "agegender"))
    ap.add_argument("--threads", default="2")
    a = ap.parse_args()
    with open(os.path.join(a.run, "config.json")) as f:
        prepared = a.data or json.load(f)["data"]["prepared"]
    with tempfile.TemporaryDirectory() as tmp:
        pred = os.path.join(tmp, "ours.csv")
        cmd = [a.agegender, "eval", "--run", a.run, "--split", a.split, "--threads", a.threads, "--predictions", pred,
               "--out", os.path.join(tmp, "eval")] + (["--data", a.data] if a.data else []) + (["--tta"] if a.tta else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(pred, newline="") as f:
            rows = list(csv.DictReader(f))
        raw = os.path.join(tmp, "in.rgb")
        with open(raw, "wb") as f:
            for h, w, px in read_crops(prepared, [r["file"] for r in rows]):
                f.write(struct.pack("<II", h, w))
                f.write(px)
        out = os.path.join(tmp, "faceapi.json")
        subprocess.run(["node", os.path.join(ROOT, "tests", "reference", "face_api_ref.mjs"), "--task", "age_gender",
                        "--models", a.models, "--input", raw, "--out", out], check=True)
        with open(out) as f:
            ref = json.load(f)["results"]
    if len(ref) != len(rows):
        sys.exit(f"face-api answered {len(ref)} images for {len(rows)}")
    for r, fr in zip(rows, ref):
        r["faceapi_age"] = fr["age"]
        r["faceapi_female"] = 1.0 - fr["male_probability"]
    print(f"{len(rows)} {a.split} crops of {prepared}; ours: {a.run}{' with --tta' if a.tta else ''}; "
          "face-api: ageGenderNet (@vladmandic/face-api 1.7.15, TF.js WASM)")
    table("Overall", [("all", lambda r: True)], rows)
    table("Per age band (true age)", [(n, (lambda lo, hi: lambda r: lo <= int(r["age"]) <= hi)(lo, hi)) for n, lo, hi in BANDS], rows)
    table("Per race", [(name, (lambda i: lambda r: int(r["race"]) == i)(i)) for i, name in enumerate(RACES)], rows)


if __name__ == "__main__":
    main()
