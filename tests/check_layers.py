#!/usr/bin/python3
"""Include-level twin of the layer_check_* link checks (CMakeLists.txt): every file under src/<layer>/
may include headers of its own layer and of the layers below it only, and no leaf may include another
leaf. A public header belongs to the layer whose src/ folder defines it (same stem, or the map below)."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BELOW = {  # layer -> layers it may use (itself included)
    "base": {"base"},
    "data": {"base", "data"},
    "model": {"base", "data", "model"},
}
BELOW["vision"] = {"base", "data", "model", "vision"}
for leaf in ("train", "eval", "sweep", "export"):
    BELOW[leaf] = {"base", "data", "model", leaf}
for leaf in ("predict", "embed", "visitors"):  # the leaves that read images and video
    BELOW[leaf] = {"base", "data", "model", "vision", leaf}
BELOW["cli"] = set(BELOW) | {"cli"}
# Public headers whose definitions live in files of another name.
HEADER_LAYER = {"error": "base", "version": "base", "report": "base", "charts": "base", "models": "model",
                "evaluator": "eval", "predictor": "predict", "slurm": "sweep", "utkface": "data",
                "image_limits": "base", "embedder": "embed", "face_location": "base", "compute": "model",
                "rgb_view": "model", "face_networks": "model", "detection_flags": "base"}


def header_layer(stem):
    if stem in HEADER_LAYER:
        return HEADER_LAYER[stem]
    hits = {p.parent.name for p in (ROOT / "src").glob(f"*/{stem}.cpp")}
    return hits.pop() if len(hits) == 1 else None


def main():
    problems = []
    for path in sorted((ROOT / "src").glob("*/*.[ch]pp")):
        layer = path.parent.name
        allowed = BELOW.get(layer)
        if allowed is None:
            problems.append(f"{path.relative_to(ROOT)}: folder src/{layer} is not a known layer (add it to {__file__})")
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.match(r'\s*#include\s+"([^"]+)"', line)
            if not m:
                continue
            inc = m.group(1)
            if inc.startswith("agegender/"):
                target = header_layer(pathlib.Path(inc).stem)
                if target is None:
                    problems.append(f"{path.relative_to(ROOT)}:{n}: cannot tell the layer of {inc} (add it to HEADER_LAYER)")
                    continue
            else:
                target = inc.split("/")[0]
            if target not in allowed:
                problems.append(f"{path.relative_to(ROOT)}:{n}: {layer} includes {inc} from layer {target}")
    for p in problems:
        print(p)
    print(f"{len(problems)} layer violation(s)" if problems else "layers: no violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
