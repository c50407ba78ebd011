"""Segmentation of vertebral bodies, discs and the spinal canal: ``segment_image``.

Reorient to the canonical layout, resample slices to the model's spacing, normalise, run the 2D network and
post-process on that grid (:mod:`.model_grid`), then bring the final labels exactly onto the input grid
(:mod:`.back_to_input`). The network runs on ONNX Runtime (CPU) or torch (:mod:`.backend`); torch is
imported only when it runs, MONAI only for training.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import ModelError
from ..image import SpatialImage
from ..progress import ProgressCallback, report, sub_progress


def load_network(info, device: str = "cpu"):
    """Build the network described by a ModelInfo and load its (verified) weights (MONAI's BasicUNet
    architecture, built without importing MONAI: see :mod:`.unet`)."""
    import torch

    from .network import DEFAULT_FEATURES
    from .unet import BasicUNet2D

    net = BasicUNet2D(
        len(context_offsets(info)), len(info.classes), features=tuple(info.network.get("features", DEFAULT_FEATURES))
    )
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


def segment_image(
    image: SpatialImage,
    model: Optional[str] = None,
    device: str = "auto",
    progress: Optional[ProgressCallback] = None,
    backend: str = "auto",
) -> SpatialImage:
    """Label map (uint8, anatomy-scheme values) on exactly ``image``'s grid.

    ``backend``: "onnx" (ONNX Runtime, CPU, no torch), "torch", or "auto" (ONNX Runtime on a CPU when installed).
    :func:`segment_image_with_quality` also says how far the result can be trusted."""
    return segment_image_with_quality(image, model, device, progress, backend)[0]


def segment_image_with_quality(
    image: SpatialImage,
    model: Optional[str] = None,
    device: str = "auto",
    progress: Optional[ProgressCallback] = None,
    backend: str = "auto",
):
    """(label map as :func:`segment_image` gives it, :class:`.quality.SegmentationQuality`): the confidence of each
    named structure, the level naming's doubts and the column's shape, with their flags."""
    from ..models import resolve_model
    from .backend import get_backend
    from .checks import check_segmentable
    from .memory import check_fits, out_of_memory
    from .model_grid import model_grid_size

    info = resolve_model(model)
    check_segmentable(image, info.input_spacing_mm)  # too small for the network, or a label map: exit 3
    model_size = model_grid_size(image.geometry, info.input_spacing_mm)
    check_fits(image.geometry.size, model_size)
    report(progress, 0.0, f"loading model {info.name}")
    runner = get_backend(info, device, backend)
    report(progress, 0.03, f"running {info.name} with {runner.description}")
    try:
        labels, quality = _segment_on_model_grid(runner, image, info, progress)
    except MemoryError:
        raise out_of_memory(image.geometry.size, model_size) from None
    report(progress, 1.0, "segmentation done")
    return SpatialImage(labels, image.geometry), quality


def _segment_on_model_grid(runner, image: SpatialImage, info, progress):
    """Probabilities, post-processing and the quality report on the model's grid; only the final labels come back
    to the input's."""
    from .back_to_input import labels_to_input_grid
    from .infer import predict_on_model_grid
    from .levels import name_levels
    from .quality import assess_segmentation, flag_dark_discs

    pred = predict_on_model_grid(
        runner, image, info.input_spacing_mm, context_offsets(info), progress=sub_progress(progress, 0.05, 0.85)
    )
    if runner.note:
        report(progress, 0.85, runner.note)
    report(progress, 0.85, "naming the levels")
    labels, level_report = name_levels(pred.probs, pred.geometry, info.postprocessing)
    if not level_report.anchored_on_l5:
        report(progress, 0.9, "warning: L5 could not be recognised; the lowest vertebral body was taken as L5")
    if level_report.dropped:
        report(progress, 0.9, f"set aside (not named): {level_report.summary()}")
    quality = assess_segmentation(pred.probs, labels.array, pred.geometry, level_report, info.quality_thresholds)
    report(progress, 0.95, "labels back onto the input grid")
    canonical = labels_to_input_grid(labels.array, pred.probs, pred.input_size_2d)
    final = np.ascontiguousarray(pred.reorientation.from_canonical(canonical))
    flag_dark_discs(quality, image, final, info.quality_thresholds)
    return final, quality
