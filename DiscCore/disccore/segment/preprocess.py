"""Intensity normalisation and in-plane resampling of canonical slices (and the way back)."""

from __future__ import annotations

import numpy as np

LOW_PERCENTILE, HIGH_PERCENTILE = 2.5, 97.5


def normalise_intensity(array: np.ndarray) -> np.ndarray:
    """Contrast stretch: the 2.5th..97.5th percentiles of the non-zero voxels map to 0..1 (clipped to -0.5..1.5).

    Percentiles make it independent of scanner scaling; the loose clip keeps bright fat/CSF distinguishable.
    NaN and infinite voxels are left out of the percentiles and become 0 (one NaN would make them all NaN).
    """
    a = np.asarray(array, dtype=np.float32)
    finite = np.isfinite(a)
    values = a[finite & (a != 0)]
    if values.size < 100:
        values = a[finite]
    if values.size == 0:
        return np.zeros(a.shape, np.float32)
    lo, hi = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((a - lo) / (hi - lo), -0.5, 1.5).astype(np.float32)
    out[~finite] = 0.0
    return out


def inplane_size(shape_2d, spacing_2d, target_spacing) -> tuple[int, int]:
    """Slice size after resampling to ``target_spacing`` mm (same physical extent, rounded)."""
    return tuple(max(8, int(round(n * s / t))) for n, s, t in zip(shape_2d, spacing_2d, target_spacing))


def resize_slices(slices, size, mode: str):
    """Resize a torch tensor (N, C, H, W) to ``size`` keeping pixel centres consistent (align_corners=False)."""
    import torch.nn.functional as F

    if tuple(slices.shape[-2:]) == tuple(size):
        return slices
    if mode == "nearest":
        return F.interpolate(slices, size=size, mode="nearest-exact")
    return F.interpolate(slices, size=size, mode=mode, align_corners=False)
