"""Export a trained 2D U-Net to ONNX (torch only): ONNX Runtime then runs it on a CPU without torch.

``python -m disccore.segment.export [--manifest models/manifest.json] [--name NAME]`` exports a model listed in a
manifest beside its weights and records the file and its sha256 in the entry; training does the same for the model
it writes (:func:`add_onnx_export`). The graph takes (batch, channels, H, W) float32 with H and W multiples of
PAD_MULTIPLE (inference pads to them) and returns the logits (batch, classes, H, W); batch, H and W are dynamic.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .pad import PAD_MULTIPLE

ONNX_FILE = "model.onnx"  # written beside model.pt
ONNX_OPSET = 18
EXAMPLE_SIZE = 4 * PAD_MULTIPLE  # the traced example; any multiple of PAD_MULTIPLE runs


def export_onnx(weights, out_path, in_channels: int, n_classes: int, features) -> Path:
    """Write ``out_path`` (.onnx) from a state_dict file (or dict) of :class:`.unet.BasicUNet2D` weights."""
    import torch

    from .unet import BasicUNet2D

    net = BasicUNet2D(in_channels, n_classes, features=tuple(features))
    state = weights if isinstance(weights, dict) else torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.eval()
    example = torch.zeros(2, in_channels, EXAMPLE_SIZE, EXAMPLE_SIZE)
    rows, cols = torch.export.Dim("rows", min=1, max=256), torch.export.Dim("cols", min=1, max=256)
    shapes = {"x": {0: torch.export.Dim("batch", min=1, max=4096), 2: PAD_MULTIPLE * rows, 3: PAD_MULTIPLE * cols}}
    out_path = Path(out_path)
    with torch.inference_mode():
        program = torch.onnx.export(
            net,
            (example,),
            dynamic_shapes=shapes,
            input_names=["x"],
            output_names=["logits"],
            opset_version=ONNX_OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    program.save(str(out_path))
    return out_path


def add_onnx_export(entry: dict, base_dir) -> dict:
    """Export the weights of a manifest ``entry`` (its "file", relative to ``base_dir``) to ONNX beside them and
    return the entry with "onnx_file" and "onnx_sha256" added."""
    from ..models import sha256_of

    weights = Path(base_dir) / entry["file"]
    onnx_path = export_onnx(
        weights,
        weights.parent / ONNX_FILE,
        len(entry["network"]["context_offsets_mm"]),
        len(entry["classes"]),
        entry["network"]["features"],
    )
    onnx_file = str(Path(entry["file"]).parent / ONNX_FILE) if Path(entry["file"]).parent.name else ONNX_FILE
    onnx = {"onnx_file": onnx_file, "onnx_sha256": sha256_of(onnx_path)}
    out = {}
    for key, value in entry.items():  # listed right after the weights' own sha256
        if key not in onnx:
            out[key] = value
        if key == "sha256":
            out.update(onnx)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m disccore.segment.export", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", default=str(Path(__file__).resolve().parents[3] / "models" / "manifest.json"))
    parser.add_argument("--name", help="the model to export (default: every model in the manifest)")
    args = parser.parse_args(argv)
    manifest = Path(args.manifest)
    doc = json.loads(manifest.read_text())
    doc["models"] = [
        add_onnx_export(m, manifest.parent) if args.name in (None, m["name"]) else m for m in doc["models"]
    ]
    manifest.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
