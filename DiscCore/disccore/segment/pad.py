"""Padding of slices to the size the U-Net can halve four times."""

from __future__ import annotations

import numpy as np

PAD_MULTIPLE = 16  # the U-Net halves the size four times


def pad_to_multiple(x: np.ndarray) -> np.ndarray:
    """Zero-pad the last two axes of (N, C, H, W) at their far ends up to multiples of PAD_MULTIPLE."""
    ph, pw = (-x.shape[-2]) % PAD_MULTIPLE, (-x.shape[-1]) % PAD_MULTIPLE
    if not (ph or pw):
        return x
    return np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)))
