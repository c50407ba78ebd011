"""The grid the network works on, as a Geometry: the input's slices in the canonical layout, resampled in plane
to the model's spacing (pixel centres as in :mod:`.resample`). Post-processing runs there, in physical mm, so its
cost follows the model's grid rather than the input's voxels.
"""

from __future__ import annotations

import numpy as np

from ..image import Geometry
from .canonical import Reorientation, reorientation_for
from .preprocess import inplane_size


def canonical_size(geometry: Geometry, reo: Reorientation) -> tuple[int, int, int]:
    return tuple(int(geometry.size[p]) for p in reo.perm)


def model_inplane_size(geometry: Geometry, reo: Reorientation, target_spacing) -> tuple[int, int]:
    shape = canonical_size(geometry, reo)
    return inplane_size(shape[1:], reo.spacing(geometry.spacing)[1:], target_spacing)


def model_grid_size(geometry: Geometry, target_spacing) -> tuple[int, int, int]:
    """(slices, rows, columns) of the model grid of an input on ``geometry``."""
    reo = reorientation_for(geometry.direction)
    return (int(geometry.size[reo.perm[0]]), *model_inplane_size(geometry, reo, target_spacing))


def model_grid_geometry(geometry: Geometry, reo: Reorientation, size_2d) -> Geometry:
    """Geometry of the (slices, rows, columns) model grid of an input on ``geometry``."""
    shape = canonical_size(geometry, reo)
    scale = np.array([1.0, shape[1] / size_2d[0], shape[2] / size_2d[1]])  # canonical index per model index
    offset = np.array([0.0, *(0.5 * scale[1:] - 0.5)])  # canonical index of model index 0 (pixel centres)
    to_source = np.zeros((3, 3))  # model index -> source index: source = to_source @ m + at_zero
    at_zero = np.zeros(3)
    for n, (p, flip) in enumerate(zip(reo.perm, reo.flips)):
        sign = -1.0 if flip else 1.0
        to_source[p, n] = sign * scale[n]
        at_zero[p] = (shape[n] - 1 - offset[n]) if flip else offset[n]
    ijk_to_lps = geometry.direction * geometry.spacing[None, :]
    matrix = ijk_to_lps @ to_source
    spacing = np.linalg.norm(matrix, axis=0)
    return Geometry((shape[0], *size_2d), spacing, geometry.index_to_lps(at_zero), matrix / spacing[None, :])
