"""Geometry of one segment: cropped voxel pieces, centroids, principal axes, local axis frames.

All positions are physical **LPS** millimetres (see :mod:`disccore.image`). A :class:`Piece` holds a
label's voxels cropped to their bounding box (plus a one-voxel zero border) together with the affine
from crop indices to LPS, so later steps can resample it in any oriented frame without touching the
full image again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np
from scipy import ndimage

from ..image import Geometry

#: LPS direction of the patient's anterior (A = -P).
ANTERIOR_LPS = np.array([0.0, -1.0, 0.0])
#: LPS direction of the patient's inferior (caudal) side.
INFERIOR_LPS = np.array([0.0, 0.0, -1.0])


@dataclass
class Piece:
    """The voxels of one structure (the largest connected piece), cropped with a zero border.

    ``mask[i, j, k]`` is 1.0 inside; crop index (i, j, k) is full-image index ``(i, j, k) + offset``.
    """

    mask: np.ndarray  # float32, zero border of one voxel
    offset: np.ndarray  # (3,) full-image index of crop index (0, 0, 0)
    geometry: Geometry
    n_voxels: int  # voxels in this piece
    centroid_lps: np.ndarray  # (3,) mm
    covariance_mm2: np.ndarray  # (3, 3) second moments of the solid voxels (mm^2)

    def lps_to_crop_index(self, points) -> np.ndarray:
        """LPS points (..., 3) -> continuous indices into ``mask`` (..., 3)."""
        return self.geometry.lps_to_index(points) - self.offset

    @cached_property
    def voxels_lps(self) -> np.ndarray:
        """LPS positions (N, 3) of the piece's voxel centres, computed once (each extent and section plane of the
        piece starts from them)."""
        return self.geometry.index_to_lps(np.argwhere(self.mask > 0.5) + self.offset)

    @property
    def index_matrix(self) -> np.ndarray:
        """3x3 matrix mapping an LPS displacement (mm) to a crop-index displacement."""
        g = self.geometry
        return np.linalg.inv(g.direction * g.spacing[None, :])

    def project_extent(self, centre, direction) -> tuple[float, float]:
        """Min and max of (x - centre) . direction over the piece's voxels (corners included), mm."""
        d = np.asarray(direction, float)
        g = self.geometry
        proj = (self.voxels_lps - centre) @ d
        half = 0.5 * np.abs((g.direction * g.spacing[None, :]).T @ d).sum()
        return float(proj.min() - half), float(proj.max() + half)


def split_pieces(crop: np.ndarray) -> tuple[np.ndarray, int]:
    """(largest connected piece of a boolean crop, number of pieces); 26-connectivity."""
    lab, n = ndimage.label(crop, structure=np.ones((3, 3, 3), bool))
    if n <= 1:
        return crop, n
    counts = np.bincount(lab.ravel())
    counts[0] = 0
    return lab == int(np.argmax(counts)), n


def make_piece(mask: np.ndarray, offset, geometry: Geometry) -> Piece:
    """Build a :class:`Piece` from a boolean crop whose index (0,0,0) is full-image index ``offset``."""
    offset = np.asarray(offset, dtype=float)
    idx = np.argwhere(mask)
    pts = geometry.index_to_lps(idx + offset)
    centroid = pts.mean(axis=0)
    d = pts - centroid
    cov = d.T @ d / len(pts)
    m = geometry.direction * geometry.spacing[None, :]
    cov = cov + m @ np.diag(np.full(3, 1.0 / 12.0)) @ m.T  # each voxel is a solid box, not a point
    padded = np.pad(mask.astype(np.float32), 1)
    return Piece(padded, offset - 1.0, geometry, int(len(idx)), centroid, cov)


def principal_axes(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues ascending, eigenvectors as columns) of the piece's second moments (LPS)."""
    w, v = np.linalg.eigh(piece.covariance_mm2)
    return w, v


def thinnest_direction(piece: Piece) -> np.ndarray:
    """Unit LPS vector along the piece's thinnest principal direction, pointing caudally."""
    _, v = principal_axes(piece)
    return orient(v[:, 0], INFERIOR_LPS)


def local_axis(
    piece: Piece, above: Optional[Piece], below: Optional[Piece], *, from_one_neighbour: bool
) -> tuple[np.ndarray, str]:
    """(unit LPS axis pointing caudally, where it came from) for a disc or vertebral body.

    From the centroid of the neighbour above to the one below ('neighbours'); with only one neighbour and
    ``from_one_neighbour``, from that neighbour's centroid through the piece's ('one neighbour'); otherwise the
    piece's own thinnest principal direction ('own shape').
    """
    if above is not None and below is not None:
        return orient(below.centroid_lps - above.centroid_lps, INFERIOR_LPS), "neighbours"
    other = above if above is not None else below
    if other is not None and from_one_neighbour:
        return orient(piece.centroid_lps - other.centroid_lps, INFERIOR_LPS), "one neighbour"
    return thinnest_direction(piece), "own shape"


def orient(vector, reference) -> np.ndarray:
    """``vector`` normalised and flipped, if needed, to have a non-negative dot product with ``reference``."""
    v = np.asarray(vector, float)
    v = v / np.linalg.norm(v)
    return -v if float(v @ reference) < 0 else v


def perpendicular_unit(vector, axis) -> Optional[np.ndarray]:
    """The component of ``vector`` perpendicular to unit ``axis``, normalised (None if degenerate)."""
    v = np.asarray(vector, float)
    v = v - (v @ axis) * axis
    n = np.linalg.norm(v)
    return None if n < 1e-6 else v / n


@dataclass(frozen=True)
class Frame:
    """An orthonormal measurement frame in LPS: ``axis`` (spine, caudal), ``anterior``, ``lateral``."""

    centre: np.ndarray
    axis: np.ndarray
    anterior: np.ndarray

    @cached_property
    def lateral(self) -> np.ndarray:
        return np.cross(self.axis, self.anterior)

    def to_lps(self, a, l, t) -> np.ndarray:
        """Frame coordinates (anterior a, lateral l, axial t; mm) -> LPS point(s)."""
        a, l, t = np.broadcast_arrays(np.asarray(a, float), np.asarray(l, float), np.asarray(t, float))
        return self.centre + a[..., None] * self.anterior + l[..., None] * self.lateral + t[..., None] * self.axis


def make_frame(centre, axis, anterior_hint) -> Frame:
    """A frame with the given axis whose anterior direction is ``anterior_hint`` made perpendicular.

    Falls back to the patient's anterior, then to any perpendicular, when the hint is parallel to the axis.
    """
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    for hint in (anterior_hint, ANTERIOR_LPS, np.array([1.0, 0, 0]), np.array([0, 0, 1.0])):
        if hint is None:
            continue
        a = perpendicular_unit(hint, axis)
        if a is not None:
            return Frame(np.asarray(centre, float), axis, a)
    raise AssertionError("unreachable")
