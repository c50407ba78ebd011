"""Linear resampling along one array axis in numpy, with the pixel-centre convention of
``torch.nn.functional.interpolate(..., align_corners=False)`` (no antialiasing), so that the ONNX Runtime path,
which must not import torch, prepares slices exactly as the torch path always did.
"""

from __future__ import annotations

import numpy as np


def source_positions(n_in: int, n_out: int) -> np.ndarray:
    """Continuous source index of each of ``n_out`` output samples spanning the same extent as ``n_in``."""
    return (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5


def interpolate_axis(array: np.ndarray, axis: int, positions: np.ndarray) -> np.ndarray:
    """``array`` sampled at continuous ``positions`` along ``axis`` (linear; clamped to the ends), float32."""
    n = array.shape[axis]
    p = np.clip(np.asarray(positions, np.float64), 0.0, n - 1.0)
    lo = np.floor(p).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    frac = (p - lo).astype(np.float32)
    shape = [1] * array.ndim
    shape[axis] = len(p)
    frac = frac.reshape(shape)
    a = np.take(array, lo, axis=axis).astype(np.float32, copy=False)
    b = np.take(array, hi, axis=axis).astype(np.float32, copy=False)
    return a + frac * (b - a)


def resize_last_two(array: np.ndarray, size) -> np.ndarray:
    """Bilinear resize of the last two axes to ``size`` (align_corners=False), float32."""
    out = array
    for axis, n_out in ((-2, size[0]), (-1, size[1])):
        n_in = out.shape[axis]
        if n_in != n_out:
            out = interpolate_axis(out, out.ndim + axis, source_positions(n_in, n_out))
    return out.astype(np.float32, copy=False)
