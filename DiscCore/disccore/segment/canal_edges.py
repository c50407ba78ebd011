"""EXPERIMENT, not on the segment path: the canal's walls cut back to where the CSF signal ends, along each row of
each sagittal slice. benchmarks/canal_phantoms.py and benchmarks/canal_healthy.py measure it with ``--cut-walls``.

Why: the network draws the dural sac 2-3 mm too deep, over the epidural fat behind it and, at a narrowing, over the
fat and bulge in front of it (its training labels are CSF thresholds on healthy spines; it has never seen a narrowed
sac). The measured AP diameter and the stenosis grade follow that outline. Where the CSF is brighter than what
surrounds the sac (T2, STIR/TIRM), the signal itself says where the sac ends: each run of canal voxels along the
anteroposterior direction (the canonical columns) is cut back at either end to its first CSF-bright voxel, one at
least ``CSF_EDGE_FRACTION`` of the local CSF level (epidural fat, ligament, annulus and bone are darker). A row with
no CSF-bright voxel (a sac squeezed to a slit) keeps its brightest voxel, so the narrowest level is still measured
and flagged, not lost. Dark strands inside a run (the nerve roots) are kept: only the ends are cut.

The walls are only ever cut back, never grown: on real T2 fast-spin-echo images the epidural fat behind the sac can
be as bright as CSF (seen on ../shared/data images), so brightness beyond the network's outline does not say "sac".
Where the CSF is not brighter than its surroundings (T1: dark CSF beside dark ligament and dura) the signal does not
separate the sac from its wall: the outline is left as the network drew it and the quality report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .morphology import dilate_in_plane

#: a voxel darker than this share of the local CSF level is not CSF: midway between CSF (1) and epidural fat (about
#: 0.7 of CSF on T2 fast spin echo; the phantoms' fat is 0.72)
CSF_EDGE_FRACTION = 0.86
#: the local CSF level of a row: the median canal intensity of the rows within this distance (mm) in its slice
LOCAL_LEVEL_HALF_HEIGHT_MM = 12.0
#: the CSF must be at least this many times brighter than the tissue around the canal for the walls to be cut
MIN_CSF_CONTRAST = 1.2
#: width (mm) of the band around the canal, in each sagittal slice, whose median is "the tissue around the canal"
SURROUND_MM = 3.0
#: the walls that are cut
WALLS = ("anterior", "posterior")


@dataclass
class CanalEdges:
    """What the refinement did: whether the walls were cut (and if not, why), and how many voxels it removed."""

    refined: bool
    reason: str = ""
    removed_voxels: int = 0
    csf_contrast: float = 0.0  # median canal intensity / median of the band around it


def refine_canal_edges(labels: np.ndarray, image: np.ndarray, spacing, canal_value: int, walls=WALLS) -> CanalEdges:
    """Cut the canal's walls in ``labels`` (canonical layout: slices, rows superior->inferior, columns
    anterior->posterior; modified in place) back to where the CSF signal of ``image`` (same layout) ends.
    ``spacing``: (slice, row, column) mm."""
    canal = labels == canal_value
    if not canal.any():
        return CanalEdges(False, "no canal segmented")
    contrast = csf_contrast(canal, image, spacing)
    if not contrast >= MIN_CSF_CONTRAST:
        return CanalEdges(
            False,
            f"the CSF is not brighter than the tissue around the canal (ratio {contrast:.2f}, e.g. T1): "
            "the canal outline is the network's, its AP diameter and area approximate",
            csf_contrast=contrast,
        )
    half_rows = max(1, int(round(LOCAL_LEVEL_HALF_HEIGHT_MM / float(spacing[1]))))
    result = CanalEdges(True, csf_contrast=contrast)
    for s in np.flatnonzero(canal.any(axis=(1, 2))):
        levels = local_csf_levels(canal[s], image[s], half_rows)
        for r in np.flatnonzero(canal[s].any(axis=1)):
            threshold = CSF_EDGE_FRACTION * levels[r]
            result.removed_voxels += _refine_row(labels[s, r], image[s, r], canal_value, threshold, walls)
    return result


def csf_contrast(canal: np.ndarray, image: np.ndarray, spacing) -> float:
    """Median intensity inside the canal over the median of a band ``SURROUND_MM`` wide around it in each sagittal
    slice (0 when the band is empty or dark)."""
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(canal))
    grow = max(1, int(round(SURROUND_MM / float(min(spacing[1], spacing[2])))))
    box = (box[0],) + tuple(slice(max(0, b.start - grow), b.stop + grow) for b in box[1:])
    inside = canal[box]
    band = inside
    for _ in range(grow):
        band = dilate_in_plane(band)
    band &= ~inside
    values = image[box]
    around = float(np.median(values[band])) if band.any() else 0.0
    return float(np.median(values[inside])) / around if around > 0 else 0.0


def local_csf_levels(canal_slice: np.ndarray, image_slice: np.ndarray, half_rows: int) -> np.ndarray:
    """Per row of one sagittal slice, the median of the per-row median canal intensities within ``half_rows`` (NaN
    in rows without canal): the CSF level, following the coil's slow intensity changes."""
    rows = np.flatnonzero(canal_slice.any(axis=1))
    row_median = np.full(canal_slice.shape[0], np.nan)
    for r in rows:
        row_median[r] = np.median(image_slice[r][canal_slice[r]])
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(row_median, half_rows, constant_values=np.nan), 2 * half_rows + 1
    )
    levels = np.full_like(row_median, np.nan)
    levels[rows] = np.nanmedian(windows[rows], axis=1)  # each window holds its own row: never all NaN
    return levels


def _refine_row(row_labels: np.ndarray, row_image: np.ndarray, canal_value: int, threshold: float, walls) -> int:
    """Cut back each run of canal voxels in one row (in place) to its first and last CSF-bright voxel; the voxels
    removed. A run with none keeps its brightest voxel (a sac squeezed to a slit is still measured)."""
    cols = np.flatnonzero(row_labels == canal_value)
    breaks = np.flatnonzero(np.diff(cols) > 1)
    removed = 0
    for first, last in zip(np.r_[cols[0], cols[breaks + 1]].tolist(), np.r_[cols[breaks], cols[-1]].tolist()):
        bright = np.flatnonzero(row_image[first : last + 1] >= threshold)
        if not bright.size:  # a slit: keep its brightest voxel
            bright = np.array([int(np.argmax(row_image[first : last + 1]))])
        lo = first + int(bright[0]) if "anterior" in walls else first
        hi = first + int(bright[-1]) if "posterior" in walls else last
        row_labels[first:lo] = 0
        row_labels[hi + 1 : last + 1] = 0
        removed += (lo - first) + (last - hi)
    return removed
