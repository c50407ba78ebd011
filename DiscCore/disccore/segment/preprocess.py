"""Intensity normalisation of canonical slices and their size on the model's in-plane grid."""

from __future__ import annotations

import numpy as np

LOW_PERCENTILE, HIGH_PERCENTILE = 2.5, 97.5


def normalise_intensity(array: np.ndarray) -> np.ndarray:
    """Contrast stretch: the 2.5th..97.5th percentiles of the non-zero voxels map to 0..1 (clipped to -0.5..1.5).

    Percentiles make it independent of scanner scaling; the loose clip keeps bright fat/CSF distinguishable.
    NaN and infinite voxels are left out of the percentiles and become 0 (one NaN would make them all NaN).
    """
    window = intensity_window(array)
    out = np.empty(np.shape(array), np.float32)
    for i in range(out.shape[0]):  # slice by slice: the arithmetic is float64 without a volume of it
        out[i] = stretched(array[i], window)
    return out


def intensity_window(array: np.ndarray) -> tuple[float, float]:
    """(low, high): the intensities that map to 0 and 1 (see :func:`normalise_intensity`); finite voxels only."""
    a = np.asarray(array)
    usable = np.isfinite(a) if a.dtype.kind == "f" else np.ones(a.shape, bool)
    values = a[usable & (a != 0)].astype(np.float32)  # no float copy of the whole volume
    if values.size < 100:
        values = a[usable].astype(np.float32)
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE], overwrite_input=True)
    return lo, (hi if hi > lo else lo + 1.0)


def stretched(array: np.ndarray, window) -> np.ndarray:
    """The intensities mapped through ``window``; NaN and infinite voxels become 0."""
    lo, hi = window
    a = np.asarray(array, dtype=np.float32)
    out = np.clip((a - lo) / (hi - lo), -0.5, 1.5)
    if a.dtype.kind == "f":
        out[~np.isfinite(a)] = 0.0
    return out


def inplane_size(shape_2d, spacing_2d, target_spacing) -> tuple[int, int]:
    """Slice size after resampling to ``target_spacing`` mm (same physical extent, rounded)."""
    return tuple(max(8, int(round(n * s / t))) for n, s, t in zip(shape_2d, spacing_2d, target_spacing))
