"""Neighbouring slices as extra input channels ("2.5D"), placed in millimetres, not in slice indices.

A single sagittal slice cannot tell the lateral edge of a vertebral body from a pedicle; the slices a few
mm to either side can. Offsets are physical so the network sees the same context whatever the slice
thickness: between acquired slices the volume is interpolated linearly, beyond its ends the last slice is
repeated.
"""

from __future__ import annotations

import numpy as np

DEFAULT_OFFSETS_MM = (-6.0, -3.0, 0.0, 3.0, 6.0)


def context_slices(volume: np.ndarray, centers, offsets_mm, slice_spacing_mm: float) -> np.ndarray:
    """(len(centers), len(offsets), H, W) float32: ``volume`` (slices, H, W) at centre + offset mm."""
    n = volume.shape[0]
    out = np.empty((len(centers), len(offsets_mm)) + volume.shape[1:], np.float32)
    for b, c in enumerate(centers):
        for k, d in enumerate(offsets_mm):
            out[b, k] = _at_position(volume, min(max(c + d / slice_spacing_mm, 0.0), n - 1.0))
    return out


def _at_position(volume: np.ndarray, p: float) -> np.ndarray:
    lo = int(np.floor(p))
    hi = min(lo + 1, volume.shape[0] - 1)
    frac = np.float32(p - lo)
    if frac == 0 or hi == lo:
        return volume[lo]
    return (1 - frac) * volume[lo] + frac * volume[hi]


def thick_context(
    volume: np.ndarray, center: int, offsets_mm, slice_spacing_mm: float, thickness_mm: float
) -> np.ndarray:
    """(len(offsets), H, W): the context an acquisition with ``thickness_mm`` slices would give (training).

    Each thick slice is the mean of the thin slices it covers; the centre one is centred on ``center`` and the
    offsets are interpolated between thick slices exactly as :func:`context_slices` does at inference.
    """
    n = volume.shape[0]
    step = thickness_mm / slice_spacing_mm  # thick-slice spacing in thin slices
    half = step / 2.0

    def thick(p: float) -> np.ndarray:
        lo = int(np.clip(np.floor(p - half + 0.5), 0, n - 1))
        hi = int(np.clip(np.floor(p + half + 0.5), lo + 1, n))
        return volume[lo:hi].mean(axis=0)

    # slices beyond the volume are not acquired: clamp to the outermost thick slices that still fit
    m_min = -int(np.floor(center / step))
    m_max = int(np.floor((n - 1 - center) / step))
    out = np.empty((len(offsets_mm),) + volume.shape[1:], np.float32)
    cache = {}
    for k, d in enumerate(offsets_mm):
        q = np.clip(d / thickness_mm, m_min, m_max)
        m0 = int(np.floor(q))
        frac = float(q - m0)
        for m in {m0, min(m0 + 1, m_max)}:
            if m not in cache:
                cache[m] = thick(center + m * step)
        a = cache[m0]
        out[k] = a if frac == 0 else (1 - frac) * a + frac * cache[min(m0 + 1, m_max)]
    return out
