"""Intensity normalisation of canonical slices and their size on the model's in-plane grid."""

from __future__ import annotations

import numpy as np

LOW_PERCENTILE, HIGH_PERCENTILE = 2.5, 97.5


def normalise_intensity(array: np.ndarray) -> np.ndarray:
    """Contrast stretch: the 2.5th..97.5th percentiles of the non-zero voxels map to 0..1 (clipped to -0.5..1.5).

    Percentiles make it independent of scanner scaling; the loose clip keeps bright fat/CSF distinguishable.
    """
    values = np.asarray(array)[array != 0].astype(np.float32)  # no float copy of the whole volume
    if values.size < 100:
        values = np.asarray(array, dtype=np.float32).reshape(-1)
    lo, hi = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE], overwrite_input=True)
    del values
    if hi <= lo:
        hi = lo + 1.0
    out = np.empty(np.shape(array), np.float32)
    for i in range(out.shape[0]):  # slice by slice: the arithmetic is float64 without a volume of it
        out[i] = np.clip((np.asarray(array[i], dtype=np.float32) - lo) / (hi - lo), -0.5, 1.5)
    return out


def inplane_size(shape_2d, spacing_2d, target_spacing) -> tuple[int, int]:
    """Slice size after resampling to ``target_spacing`` mm (same physical extent, rounded)."""
    return tuple(max(8, int(round(n * s / t))) for n, s, t in zip(shape_2d, spacing_2d, target_spacing))

