"""Segmentation of vertebral bodies, discs and the spinal canal: ``segment_image``.

Reorient to the canonical layout, resample slices to the model's spacing, normalise, run the 2D network,
undo every step so the result lies exactly on the input grid, then post-process. torch is imported only when
it runs; MONAI is needed for training, not here.
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

    from .unet import BasicUNet2D

    net = BasicUNet2D(len(context_offsets(info)), len(info.classes),
                      features=tuple(info.network.get("features", (16, 32, 64, 128, 256, 32))))
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
                  progress: Optional[ProgressCallback] = None) -> SpatialImage:
    """Label map (uint8, anatomy-scheme values) on exactly ``image``'s grid."""
    import torch

    from ..models import resolve_model
    from .checks import check_segmentable
    from .infer import predict_probabilities
    from .levels import name_levels

    info = resolve_model(model)
    check_segmentable(image, info.input_spacing_mm)  # too small for the network, or a label map: exit 3
    dev = choose_device(device)
    torch.manual_seed(0)
    # No torch.use_deterministic_algorithms: the CPU kernels of this network are deterministic as they are
    # (test_deterministic_on_cpu), and the call imports torch's compiler stack (~1.7 s of a 10 s budget).
    report(progress, 0.0, f"loading model {info.name} on {dev}")
    net = load_network(info, dev)
    try:
        probs = predict_probabilities(net, image, info.input_spacing_mm, context_offsets(info), dev, progress=sub_progress(progress, 0.05, 0.9))
    except torch.cuda.OutOfMemoryError:
        report(progress, 0.05, "GPU memory ran out: continuing on the CPU")
        del net
        torch.cuda.empty_cache()
        net = load_network(info, "cpu")
        probs = predict_probabilities(net, image, info.input_spacing_mm, context_offsets(info), "cpu", progress=sub_progress(progress, 0.05, 0.9))
    report(progress, 0.9, "naming the levels")
    labels, level_report = name_levels(probs, image.geometry)
    if not level_report.anchored_on_l5:
        report(progress, 0.95, "warning: L5 could not be recognised; the lowest vertebral body was taken as L5")
    report(progress, 1.0, "segmentation done")
    return labels
