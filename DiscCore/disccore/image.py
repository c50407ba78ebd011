"""The one physical-space image type used everywhere in disccore.

Conventions (read once, used everywhere):
- ``array`` is indexed ``[i, j, k]`` (ITK index order, i fastest in memory on disk), so
  ``array.shape == geometry.size``. SimpleITK's ``GetArrayFromImage`` is ``[k, j, i]``; convert only
  through :func:`to_sitk` / :func:`from_sitk`.
- Physical coordinates are **LPS** millimetres (the ITK / DICOM convention):
  ``point_lps = origin + direction @ (spacing * ijk)``. ``direction``'s columns are the unit
  directions of the i, j, k axes. RAS (3D Slicer's world frame) = diag(-1, -1, 1) @ LPS; use
  :meth:`Geometry.ijk_to_ras` / :func:`lps_to_ras` rather than flipping signs by hand.
- Directions may be oblique and left-handed (det = -1); nothing assumes axis-aligned,
  isotropic or RAS-ordered arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ImageContentError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
ORTHONORMAL_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Geometry:
    """Voxel grid in physical space (LPS, mm)."""

    size: tuple[int, int, int]
    spacing: np.ndarray = field(default_factory=lambda: np.ones(3))
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))

    def __post_init__(self):
        object.__setattr__(self, "size", tuple(int(s) for s in self.size))
        object.__setattr__(self, "spacing", np.asarray(self.spacing, dtype=float).reshape(3))
        object.__setattr__(self, "origin", np.asarray(self.origin, dtype=float).reshape(3))
        object.__setattr__(self, "direction", np.asarray(self.direction, dtype=float).reshape(3, 3))

    # --- affines -----------------------------------------------------------------------------
    def ijk_to_lps(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous (i, j, k, 1) to LPS mm."""
        m = np.eye(4)
        m[:3, :3] = self.direction * self.spacing[None, :]
        m[:3, 3] = self.origin
        return m

    def ijk_to_ras(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous (i, j, k, 1) to RAS mm (Slicer's IJKToRAS)."""
        flip = np.diag([-1.0, -1.0, 1.0, 1.0])
        return flip @ self.ijk_to_lps()

    def index_to_lps(self, ijk) -> np.ndarray:
        """Continuous indices (..., 3) -> LPS points (..., 3)."""
        ijk = np.asarray(ijk, dtype=float)
        return ijk @ (self.direction * self.spacing[None, :]).T + self.origin

    def lps_to_index(self, points) -> np.ndarray:
        """LPS points (..., 3) -> continuous indices (..., 3)."""
        p = np.asarray(points, dtype=float) - self.origin
        inv = np.linalg.inv(self.direction * self.spacing[None, :])
        return p @ inv.T

    def index_to_ras(self, ijk) -> np.ndarray:
        return lps_to_ras(self.index_to_lps(ijk))

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def same_grid(self, other: Geometry, tol: float = 1e-5) -> bool:
        """True when both describe the same voxel grid (size exact, geometry within tol mm)."""
        return (
            self.size == other.size
            and np.allclose(self.spacing, other.spacing, atol=tol)
            and np.allclose(self.origin, other.origin, atol=tol)
            and np.allclose(self.direction, other.direction, atol=tol)
        )

    def validate(self) -> None:
        """Raise ImageContentError unless spacing is positive and the direction orthonormal."""
        if np.any(~np.isfinite(self.spacing)) or np.any(self.spacing <= 0):
            raise ImageContentError(
                f"the voxel spacing {tuple(self.spacing)} mm is not positive; the file header is damaged"
            )
        d = self.direction
        if not np.all(np.isfinite(d)) or not np.allclose(d.T @ d, np.eye(3), atol=ORTHONORMAL_TOLERANCE):
            raise ImageContentError(
                "the image orientation (direction matrix) is not orthonormal, so positions and distances in it "
                "cannot be trusted; re-export the series from the scanner or PACS"
            )


@dataclass
class SpatialImage:
    """A 3D array on a physical-space grid. See the module docstring for conventions."""

    array: np.ndarray
    geometry: Geometry

    def __post_init__(self):
        if tuple(self.array.shape) != tuple(self.geometry.size):
            raise ValueError(f"array shape {self.array.shape} does not match geometry size {self.geometry.size}")

    @classmethod
    def like(cls, array: np.ndarray, reference: SpatialImage) -> SpatialImage:
        """A new image with ``array`` on the grid of ``reference``."""
        return cls(array, reference.geometry)


_SIDES = {
    (0, 1): "left",
    (0, -1): "right",
    (1, 1): "posterior",
    (1, -1): "anterior",
    (2, 1): "superior",
    (2, -1): "inferior",
}  # (LPS axis, sign) -> patient side


def grid_edge_sides(lo, hi, shape, direction) -> list[str]:
    """Patient sides on which a bounding box [lo, hi) reaches the outermost slice of a grid of ``shape``."""
    sides = []
    for a in range(3):
        towards = np.asarray(direction)[:, a]  # LPS direction of increasing index a
        k = int(np.argmax(np.abs(towards)))
        sign = 1 if towards[k] > 0 else -1
        if lo[a] == 0:
            sides.append(_SIDES[(k, -sign)])
        if hi[a] == shape[a]:
            sides.append(_SIDES[(k, sign)])
    return sides


def box_edge_sides(box, shape, direction) -> list[str]:
    """:func:`grid_edge_sides` of a bounding box given as a tuple of slices (as ``find_objects`` gives it)."""
    return grid_edge_sides([b.start for b in box], [b.stop for b in box], shape, direction)


def lps_to_ras(points) -> np.ndarray:
    """LPS points (..., 3) -> RAS points (same array shape). Also works RAS -> LPS."""
    p = np.asarray(points, dtype=float)
    return p * np.array([-1.0, -1.0, 1.0])


ras_to_lps = lps_to_ras


def to_sitk(image: SpatialImage):
    """SpatialImage -> SimpleITK image (geometry copied exactly)."""
    import SimpleITK as sitk

    out = sitk.GetImageFromArray(np.ascontiguousarray(image.array.transpose(2, 1, 0)))
    g = image.geometry
    out.SetSpacing(tuple(float(s) for s in g.spacing))
    out.SetOrigin(tuple(float(o) for o in g.origin))
    out.SetDirection(tuple(float(d) for d in g.direction.reshape(-1)))
    return out


def from_sitk(img) -> SpatialImage:
    """SimpleITK 3D image -> SpatialImage (geometry copied exactly; no validation)."""
    import SimpleITK as sitk

    arr = sitk.GetArrayFromImage(img).transpose(2, 1, 0)
    geom = Geometry(
        size=img.GetSize(),
        spacing=np.array(img.GetSpacing()),
        origin=np.array(img.GetOrigin()),
        direction=np.array(img.GetDirection()).reshape(3, 3),
    )
    return SpatialImage(arr, geom)
