"""Small operations on the boolean masks of a volume: connected pieces, bounding boxes, centres, sagittal sections."""

from __future__ import annotations

import numpy as np

TOUCHING = np.ones((3, 3, 3), bool)  # voxels that share a corner belong to the same piece


def components(mask: np.ndarray, min_voxels: int):
    """Label image of the connected pieces of ``mask`` and the labels of those with at least ``min_voxels``."""
    from scipy import ndimage

    lab, n = ndimage.label(mask, structure=TOUCHING)
    if n == 0:
        return lab, []
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    return lab, [i + 1 for i in range(n) if sizes[i] >= min_voxels]


def bounding_box(idx: np.ndarray) -> tuple:
    """Slices around voxel indices (N, 3)."""
    return tuple(slice(int(a), int(b) + 1) for a, b in zip(idx.min(axis=0), idx.max(axis=0)))


def centre(geometry, mask: np.ndarray) -> np.ndarray:
    """Centre of a mask in LPS (mm)."""
    return geometry.index_to_lps(np.argwhere(mask).mean(axis=0))


def sections(mask: np.ndarray, axis: int) -> np.ndarray:
    """Voxels of ``mask`` in each slice along array ``axis``."""
    return mask.sum(axis=tuple(a for a in range(3) if a != axis))


def in_slices(mask: np.ndarray, keep: np.ndarray, axis: int) -> np.ndarray:
    """``mask`` in the slices along array ``axis`` where ``keep`` (one bool per slice) is true."""
    shape = [1, 1, 1]
    shape[axis] = -1
    return mask & keep.reshape(shape)


def left_right_axis(geometry) -> int:
    """The array axis closest to left-right (its slices are the sagittal ones)."""
    return int(np.argmax(np.abs(geometry.direction[0])))
