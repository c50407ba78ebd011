"""Segmentation of vertebral bodies, discs and the spinal canal: ``segment_image``.

Reorient to the canonical layout, resample slices to the model's spacing, normalise, run the 2D network,
undo every step so the result lies exactly on the input grid, then post-process. The network runs on ONNX
Runtime (CPU) or torch (:mod:`.backend`); torch is imported only when it runs, MONAI only for training.
"""

from __future__ import annotations

from typing import Optional

from ..errors import ModelError
from ..image import SpatialImage
from ..progress import ProgressCallback, report, sub_progress


def load_network(info, device: str = "cpu"):
    """Build the network described by a ModelInfo and load its (verified) weights (MONAI's BasicUNet
    architecture, built without importing MONAI: see :mod:`.unet`)."""
    import torch

    from .network import DEFAULT_FEATURES
    from .unet import BasicUNet2D

    net = BasicUNet2D(len(context_offsets(info)), len(info.classes),
                      features=tuple(info.network.get("features", DEFAULT_FEATURES)))
    state = torch.load(info.path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return net.to(device).eval()


def context_offsets(info) -> tuple:
    """The neighbouring-slice offsets (mm) the model takes as input channels (one channel: the slice alone)."""
    return tuple(float(d) for d in info.network.get("context_offsets_mm", (0.0,)))


def choose_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("a GPU (CUDA) was requested but none is available; use --device cpu or auto")
    return device


def segment_image(image: SpatialImage, model: Optional[str] = None, device: str = "auto",
                  progress: Optional[ProgressCallback] = None, backend: str = "auto") -> SpatialImage:
    """Label map (uint8, anatomy-scheme values) on exactly ``image``'s grid.

    ``backend``: "onnx" (ONNX Runtime, CPU, no torch), "torch", or "auto" (ONNX Runtime on a CPU when installed)."""
    from ..models import resolve_model
    from .backend import get_backend
    from .infer import predict_probabilities
    from .levels import name_levels

    info = resolve_model(model)
    report(progress, 0.0, f"loading model {info.name}")
    runner = get_backend(info, device, backend)
    report(progress, 0.03, f"running {info.name} with {runner.description}")
    probs = predict_probabilities(runner, image, info.input_spacing_mm, context_offsets(info),
                                  progress=sub_progress(progress, 0.05, 0.9))
    if runner.note:
        report(progress, 0.9, runner.note)
    report(progress, 0.9, "naming the levels")
    labels, level_report = name_levels(probs, image.geometry)
    if not level_report.anchored_on_l5:
        report(progress, 0.95, "warning: L5 could not be recognised; the lowest vertebral body was taken as L5")
    report(progress, 1.0, "segmentation done")
    return labels
