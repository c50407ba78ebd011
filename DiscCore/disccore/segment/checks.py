"""Checks around the model: images it cannot segment (too small, a label map) and results that found nothing.

Both kinds must end in a clear, non-zero exit: the network fails with a torch error on tiny images and
happily 'segments' a label map; and an empty result (no vertebral body, no disc) is not a success.
"""

from __future__ import annotations

import numpy as np

from .. import anatomy
from ..errors import ImageContentError, NothingFoundError
from ..image import SpatialImage
from .canonical import reorientation_for

#: the network halves a slice four times; at least 32 pixels (at the model's spacing) on each side of the
#: sagittal plane keep its deepest level 2 x 2 (32 mm at the shipped model's 1 mm, far below a lumbar spine)
MIN_INPLANE_PIXELS = 32
#: an image with at most this many distinct whole-number values, mostly 0, is a label map, not an MRI
LABEL_MAP_MAX_VALUES = 32
_SAMPLE_VOXELS = 1_000_000
_GLANCE_VOXELS = 20_000  # more distinct values than a label map has among these: not one (no need to sort the sample)


def check_segmentable(image: SpatialImage, model_spacing_mm) -> None:
    """Raise ImageContentError for an image too small for the network or one that looks like a label map."""
    reo = reorientation_for(image.geometry.direction)
    extent = [image.geometry.size[a] * image.geometry.spacing[a] for a in reo.perm[1:]]
    needed = [MIN_INPLANE_PIXELS * float(s) for s in model_spacing_mm]
    if any(e < n for e, n in zip(extent, needed)):
        raise ImageContentError(
            f"the image is too small to segment: its sagittal plane covers {extent[0]:.0f} x {extent[1]:.0f} mm; "
            f"at least {needed[0]:.0f} x {needed[1]:.0f} mm is needed"
        )
    values = _label_like_values(image.array)
    if values is not None:
        shown = ", ".join(f"{v:g}" for v in values[:8]) + (" ..." if len(values) > 8 else "")
        raise ImageContentError(
            f"the image holds only {len(values)} distinct whole-number values ({shown}): it looks like a label "
            "map or mask, not an MRI; give the MRI to 'segment' and label maps to 'measure'"
        )


def _label_like_values(array: np.ndarray):
    """The distinct values when the array looks like a label map, else None."""
    flat = array.ravel(order="K")  # a view even for a transposed array
    glance = flat[:: max(1, flat.size // _GLANCE_VOXELS)]
    if len(np.unique(glance)) > LABEL_MAP_MAX_VALUES:  # an MRI shows that at a glance (0.03 s less than the sample)
        return None
    sample = flat[:: max(1, flat.size // _SAMPLE_VOXELS)]
    if not _label_like(sample):
        return None
    return np.unique(flat) if _label_like(flat) else None


def _label_like(values: np.ndarray) -> bool:
    """Few distinct whole numbers, the commonest 0 (background): a label map or mask. A noise-free synthetic
    image with a few grey levels on a non-zero background is not taken for one."""
    if values.dtype.kind == "f" and not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
        return False
    if values.dtype.kind not in "fiub":
        return False
    distinct, counts = np.unique(values, return_counts=True)
    return len(distinct) <= LABEL_MAP_MAX_VALUES and distinct[np.argmax(counts)] == 0


def check_something_found(labels: SpatialImage) -> None:
    """Raise NothingFoundError when the result holds no vertebral body and no disc."""
    spine = [s.label for s in anatomy.structures() if s.kind in ("vertebra", "disc")]
    if not np.isin(labels.array, spine).any():
        raise NothingFoundError(
            "no vertebral body and no disc were found: is this a sagittal lumbar spine MRI? (the model was trained "
            "on sagittal T1/T2 lumbar series)"
        )
