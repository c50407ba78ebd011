"""Run the network over a volume: canonical slices -> model spacing -> logits -> back to the input grid.

Everything around the network call is numpy, shared by every backend (:mod:`.backend`): the ONNX Runtime path
never imports torch.
"""

from __future__ import annotations

import numpy as np

from ..image import SpatialImage
from ..progress import report
from .canonical import reorientation_for
from .context import context_slices
from .pad import pad_to_multiple
from .preprocess import inplane_size, normalise_intensity
from .resample import resize_last_two

BATCH_SIZE = 8  # slices per network call


def as_backend(net, device: str = "cpu"):
    """A backend (:mod:`.backend`) from a backend or a torch module (training and the benchmarks pass modules)."""
    if hasattr(net, "state_dict"):
        from .backend import TorchBackend

        return TorchBackend(net, device)
    return net


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def model_slice_probabilities(backend, canon: np.ndarray, slice_spacing_mm: float, size, context_offsets_mm,
                              batch_size: int = BATCH_SIZE, progress=None):
    """Yield (first slice, probabilities (B, C, *size) float32) on the model's in-plane grid, batch by batch."""
    n_slices = canon.shape[0]
    for start in range(0, n_slices, batch_size):
        centers = range(start, min(start + batch_size, n_slices))
        x = resize_last_two(context_slices(canon, centers, context_offsets_mm, slice_spacing_mm), size)
        logits = backend(pad_to_multiple(x))[:, :, : size[0], : size[1]]
        yield start, softmax(logits.astype(np.float32, copy=False))
        report(progress, min(1.0, centers[-1] / max(1, n_slices - 1)), f"segmenting slice {centers[-1] + 1}/{n_slices}")


def predict_probabilities(net, image: SpatialImage, target_spacing, context_offsets_mm=(0.0,), device="cpu",
                          batch_size=BATCH_SIZE, progress=None) -> np.ndarray:
    """Class probabilities (C, i, j, k) on exactly the input grid (float32).

    Each slice goes in with its neighbours at ``context_offsets_mm`` as channels (see :mod:`.context`).
    """
    backend = as_backend(net, device)
    reo = reorientation_for(image.geometry.direction)
    canon = normalise_intensity(reo.to_canonical(image.array))
    spacing = reo.spacing(image.geometry.spacing)
    n_slices, h, w = canon.shape
    size = inplane_size((h, w), spacing[1:], target_spacing)
    probs = None
    for start, p in model_slice_probabilities(backend, canon, float(spacing[0]), size, context_offsets_mm,
                                              batch_size, progress):
        p = resize_last_two(p, (h, w))
        if probs is None:
            probs = np.empty((p.shape[1], n_slices, h, w), np.float32)
        probs[:, start : start + len(p)] = p.transpose(1, 0, 2, 3)
    return np.ascontiguousarray(reo.from_canonical(probs, leading=1))
