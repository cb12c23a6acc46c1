"""VGG16 parity between torchvision and agegender's C++ `vgg16`.

  export DIR   torchvision VGG16 with fixed random weights -> DIR/tv_vgg16.safetensors (torchvision layout,
               classifier included) and DIR/tv_io.safetensors (input, features output)
  check DIR    load DIR/ag_weights.safetensors (written by agegender) into torchvision's vgg16().features and
               compare its output on DIR/ag_io.safetensors' input with agegender's output; prints max |diff|
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


def export(d):
    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval()
    st_io.save_file(model.state_dict(), os.path.join(d, "tv_vgg16.safetensors"), {"format": "pt"})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model.features(x)
    st_io.save_file({"input": x, "output": y}, os.path.join(d, "tv_io.safetensors"))


def check(d):
    weights = st_io.load_file(os.path.join(d, "ag_weights.safetensors"))
    features = {k[len("features."):]: v for k, v in weights.items() if k.startswith("features.")}
    model = torchvision.models.vgg16(weights=None).eval()
    model.features.load_state_dict(features, strict=True)
    io = st_io.load_file(os.path.join(d, "ag_io.safetensors"))
    with torch.no_grad():
        y = model.features(io["input"])
    print(f"max_abs_diff {float((y - io['output']).abs().max()):.3e}")


if __name__ == "__main__":
    {"export": export, "check": check}[sys.argv[1]](sys.argv[2])
