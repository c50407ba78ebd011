"""Run the network over a volume: canonical slices -> model spacing -> logits -> probabilities on the model grid.

Everything around the network call is numpy, shared by every backend (:mod:`.backend`): the ONNX Runtime path
never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..image import Geometry, SpatialImage
from ..progress import report
from .canonical import Reorientation, reorientation_for
from .context import context_slices
from .model_grid import model_grid_geometry, model_inplane_size
from .pad import pad_to_multiple
from .preprocess import intensity_window, stretched
from .resample import resize_last_two

BATCH_SIZE = 8  # slices per network call, unless the backend names its own (``backend.batch_size``)


@dataclass
class ModelGridPrediction:
    probs: np.ndarray  # (C, slices, rows, columns) float32, canonical layout
    geometry: Geometry  # of the model grid
    reorientation: Reorientation  # input array <-> canonical layout
    input_size_2d: tuple  # the input's (rows, columns) in the canonical layout


def as_backend(net, device: str = "cpu"):
    """A backend (:mod:`.backend`) from a backend or a torch module (training and the benchmarks pass modules)."""
    if hasattr(net, "state_dict"):
        from .backend import TorchBackend

        return TorchBackend(net, device)
    return net


def softmax_into(logits: np.ndarray, out: np.ndarray) -> None:
    """The softmax over axis 0 of ``logits`` written into ``out`` (same shape, any strides), with no temporary of
    their size (the values equal those of exp(l - max) / sum computed in new arrays)."""
    np.subtract(logits, logits.max(axis=0), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=0)


def model_grid_volume(canonical: np.ndarray, size) -> np.ndarray:
    """The normalised canonical volume resampled in plane to the model's grid, slice by slice (never a float copy
    of the input at its own resolution); context slices are then interpolated there, which is the same as
    interpolating them first (both are linear, along different axes)."""
    window = intensity_window(canonical)
    out = np.empty((canonical.shape[0], *size), np.float32)
    for i in range(canonical.shape[0]):
        out[i] = resize_last_two(stretched(canonical[i], window), size)
    return out


def model_slice_logits(
    backend,
    volume: np.ndarray,
    slice_spacing_mm: float,
    context_offsets_mm,
    batch_size: int = BATCH_SIZE,
    progress=None,
):
    """Yield (first slice, logits (B, C, rows, columns) float32) of the model-grid ``volume``, batch by batch."""
    n_slices = volume.shape[0]
    rows, cols = volume.shape[1:]
    for start in range(0, n_slices, batch_size):
        centers = range(start, min(start + batch_size, n_slices))
        x = context_slices(volume, centers, context_offsets_mm, slice_spacing_mm)
        logits = backend(pad_to_multiple(x))[:, :, :rows, :cols]
        yield start, logits.astype(np.float32, copy=False)
        report(progress, min(1.0, centers[-1] / max(1, n_slices - 1)), f"segmenting slice {centers[-1] + 1}/{n_slices}")


def predict_on_model_grid(
    backend, image: SpatialImage, target_spacing, context_offsets_mm=(0.0,), batch_size=None, progress=None
) -> ModelGridPrediction:
    """Class probabilities (C, slices, rows, columns) float32 on the model's grid (:mod:`.model_grid`)."""
    batch_size = batch_size or getattr(backend, "batch_size", BATCH_SIZE)
    reo = reorientation_for(image.geometry.direction)
    canonical = reo.to_canonical(image.array)  # a view
    size = model_inplane_size(image.geometry, reo, target_spacing)
    volume = model_grid_volume(canonical, size)
    probs = np.empty((0,), np.float32)
    slice_mm = float(reo.spacing(image.geometry.spacing)[0])
    for start, logits in model_slice_logits(backend, volume, slice_mm, context_offsets_mm, batch_size, progress):
        if start == 0:
            probs = np.empty((logits.shape[1], volume.shape[0], *size), np.float32)
        softmax_into(logits.transpose(1, 0, 2, 3), probs[:, start : start + len(logits)])  # no batch-sized copies
    return ModelGridPrediction(probs, model_grid_geometry(image.geometry, reo, size), reo, canonical.shape[1:])


def predict_probabilities(
    net,
    image: SpatialImage,
    target_spacing,
    context_offsets_mm=(0.0,),
    device="cpu",
    batch_size=None,
    progress=None,
) -> np.ndarray:
    """Class probabilities (C, i, j, k) on exactly the input grid (float32), for training's evaluation and the
    benchmarks; segmentation post-processes on the model's grid instead (:func:`predict_on_model_grid`)."""
    pred = predict_on_model_grid(
        as_backend(net, device), image, target_spacing, context_offsets_mm, batch_size, progress
    )
    probs = resize_last_two(pred.probs, pred.input_size_2d)
    return np.ascontiguousarray(pred.reorientation.from_canonical(probs, leading=1))
