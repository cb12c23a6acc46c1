#!/usr/bin/python3
"""Write images as the raw input of face_api_ref.mjs (see the format at the top of that script).

Usage: /usr/bin/python3 make_rgb_input.py OUT.rgb [--crop L,T,R,B] [--pad N] IMAGE [IMAGE ...]

Per image: u32 LE height, u32 LE width, then height*width*3 RGB uint8 bytes (row-major).
--crop L,T,R,B removes L/T/R/B pixels from the left/top/right/bottom edge of every following
image (a cheap "shifted copy" of a face crop); --crop 0,0,0,0 turns it off again.
--pad N puts every following image (after cropping) in the middle of a mid-grey (128,128,128)
canvas N pixels larger on each side, so that detectors see a face with some context around it
(tight face crops are often missed by the detectors); --pad 0 turns it off.
Decoding uses Pillow (Debian: python3-pil). Test helper only: the C++ tests write this format
themselves from OpenCV-decoded pixels.
"""
import struct
import sys

from PIL import Image


def main(argv):
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 2 if len(argv) < 2 else 0
    out_path, args = argv[0], argv[1:]
    crop = (0, 0, 0, 0)
    pad = 0
    count = 0
    with open(out_path, "wb") as out:
        i = 0
        while i < len(args):
            if args[i] == "--crop":
                crop = tuple(int(v) for v in args[i + 1].split(","))
                if len(crop) != 4 or min(crop) < 0:
                    raise SystemExit("--crop needs four non-negative integers L,T,R,B")
                i += 2
                continue
            if args[i] == "--pad":
                pad = int(args[i + 1])
                if pad < 0:
                    raise SystemExit("--pad needs a non-negative integer")
                i += 2
                continue
            img = Image.open(args[i]).convert("RGB")
            w, h = img.size
            l, t, r, b = crop
            if l + r >= w or t + b >= h:
                raise SystemExit(f"{args[i]}: crop {crop} leaves nothing of {w}x{h}")
            if crop != (0, 0, 0, 0):
                img = img.crop((l, t, w - r, h - b))
            if pad:
                canvas = Image.new("RGB", (img.size[0] + 2 * pad, img.size[1] + 2 * pad), (128, 128, 128))
                canvas.paste(img, (pad, pad))
                img = canvas
            w, h = img.size
            out.write(struct.pack("<II", h, w))
            out.write(img.tobytes())  # RGB, row-major, interleaved
            count += 1
            i += 1
    print(f"make_rgb_input: wrote {count} image(s) to {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
