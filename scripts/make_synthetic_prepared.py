#!/usr/bin/python3
"""Writes a synthetic prepared dataset (manifest.csv + images.bin) of N noisy face-like images, for
benchmarks that need a large set quickly (e.g. train memory at 200k images). Not for accuracy.
usage: make_synthetic_prepared.py OUT_DIR N [SIZE=32] [SEED=1]"""
import os
import random
import struct
import sys


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    os.makedirs(out, exist_ok=True)
    # A few hundred distinct images, repeated: the benchmark measures memory, not learning.
    tiles = [bytes(rng.randrange(256) for _ in range(size * size * 3)) for _ in range(256)]
    header = b"AGIMGCAC" + struct.pack("<IIQIII", 1, 64, n, size, size, 3)
    header += b"\0" * (64 - len(header))
    with open(os.path.join(out, "images.bin.tmp"), "wb") as f:
        f.write(header)
        for i in range(n):
            f.write(tiles[i % len(tiles)])
    os.replace(os.path.join(out, "images.bin.tmp"), os.path.join(out, "images.bin"))
    splits = ["train"] * 8 + ["val", "test"]
    with open(os.path.join(out, "manifest.csv"), "w") as f:
        f.write("file,age,gender,race,split\n")
        for i in range(n):
            f.write(f"synthetic_{i}.jpg,{rng.randrange(90)},{i % 2},{i % 5},{splits[i % 10]}\n")


if __name__ == "__main__":
    main()
