"""How far a segmentation can be trusted, from the network's probabilities on the model grid: per named structure
its confidence and the agreement of its sagittal sections, per case the level naming's own doubts and the column's
shape. Raw signals and flags (:mod:`disccore.quality.flags`; thresholds in :mod:`disccore.quality.thresholds`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from .. import anatomy
from ..quality import flags as qf
from ..quality.disc_signal import disc_to_body_signals, relative_disc_signals
from ..quality.thresholds import THRESHOLDS, QualityThresholds
from .classes import BODY, CANAL, DISC, L5_BODY
from .levels import LevelReport
from .masks import left_right_axis
from .morphology import find_objects

LUMBAR = ("L1", "L2", "L3", "L4", "L5")
HEIGHT_PERCENTILES = (2.0, 98.0)  # a body's height: the spread of its voxels' heights between these (no stray voxel)
# Voxels around a structure's bounding box where its class probability outside the mask still counts against it: the
# network's doubt about an outline lies along it, within a few voxels.
OUTLINE_MARGIN_VOXELS = 3


@dataclass
class StructureQuality:
    """Signals of one named structure (model grid)."""

    confidence: float  # mean probability of its class inside it
    slice_agreement: Optional[float]  # mean Dice of neighbouring sagittal sections (None: a single section)
    volume_mm3: float
    expected_dice: Optional[float] = None  # Dice of the mask with the network's own probabilities (outline doubt)
    height_mm: Optional[float] = None  # bodies: superior-inferior extent (LPS z)
    #: bodies and discs: the angle (degrees; the sign says which way) at which the column's centre line crosses the
    #: sagittal slices at the structure, in the coronal plane: a 2D sagittal network sees it that obliquely
    coronal_tilt_deg: Optional[float] = None
    #: discs: the disc's signal relative to the other discs' in the image (:mod:`disccore.quality.disc_signal`)
    relative_signal: Optional[float] = None
    flags: list = field(default_factory=list)


@dataclass
class SegmentationQuality:
    """Per named structure (``structures``: name -> :class:`StructureQuality`) and per case: lumbar bodies named,
    whether L5 was recognised, the lateral drift of the column (mm), the pieces set aside, and the case's flags."""

    structures: dict = field(default_factory=dict)
    lumbar_bodies: int = 0
    anchored_on_l5: bool = True
    lateral_drift_mm: Optional[float] = None
    #: the largest difference of two named bodies' coronal tilts: the Cobb angle of the centre line (not of endplates)
    centre_line_cobb_deg: Optional[float] = None
    set_aside: list = field(default_factory=list)
    lumbar_like_below_l5: int = 0
    l5_sized_without_disc_below: int = 0
    sacrum_at_lower_edge: bool = False
    flags: list = field(default_factory=list)

    def level_flags(self) -> dict:
        """Level name -> its flags, for the levels that have a row (bodies and discs; the canal's are the case's)."""
        canal = anatomy.canal().name
        return {n: list(s.flags) for n, s in self.structures.items() if s.flags and n != canal}

    def report(self) -> dict:
        """The quality report as the measurement JSON's ``qc`` holds it: the case's flags, each level's, and the
        signals."""
        return {"case": list(self.flags), "levels": self.level_flags(), "segmentation": self.to_dict()}

    def to_dict(self) -> dict:
        """JSON-ready signals and flags (floats rounded)."""
        out = asdict(self)
        out["structures"] = {n: _rounded(asdict(s)) for n, s in self.structures.items()}
        return _rounded(out)


def _rounded(d: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}


def assess_segmentation(
    probs: np.ndarray, labels: np.ndarray, geometry, level_report, thresholds: QualityThresholds = THRESHOLDS
) -> SegmentationQuality:
    """The quality of named ``labels`` (anatomy-scheme values on the model grid ``geometry``) given the class
    probabilities ``probs`` (C, i, j, k) there and the naming's :class:`.levels.LevelReport`."""
    axis = left_right_axis(geometry)
    boxes = find_objects(labels)
    structures, centres_x, positions = {}, {}, {}
    for value, box in enumerate(boxes, start=1):
        if box is None:
            continue
        s = anatomy.by_label(value)
        mask = labels[box] == value
        structures[s.name] = _structure_quality(s.kind, mask, probs, box, axis, geometry, thresholds)
        grown = _grown(box, labels.shape)
        structures[s.name].expected_dice = expected_dice(labels[grown], value, _class_probability(s.kind, probs, grown))
        if s.kind in ("vertebra", "disc"):
            idx = np.argwhere(mask) + [b.start for b in box]
            lps = geometry.index_to_lps(idx)
            # across the sagittal slices as the network sees them, and the height
            positions[s.name] = (float(idx[:, axis].mean() * geometry.spacing[axis]), float(lps[:, 2].mean()))
            if s.kind == "vertebra":
                centres_x[s.name] = float(lps[:, 0].mean())  # LPS x: the patient's left-right
                structures[s.name].height_mm = float(np.ptp(np.percentile(lps[:, 2], HEIGHT_PERCENTILES)))
    tilts = coronal_tilts(positions, list(centres_x))
    for name, tilt in tilts.items():
        structures[name].coronal_tilt_deg = tilt
        if abs(tilt) > thresholds.max_coronal_tilt_deg:
            structures[name].flags.append(qf.seen_obliquely(tilt))
    body_tilts = [t for n, t in tilts.items() if n in centres_x]
    q = SegmentationQuality(
        structures=structures,
        lumbar_bodies=sum(n in structures for n in LUMBAR),
        anchored_on_l5=bool(level_report.anchored_on_l5),
        lateral_drift_mm=float(np.ptp(list(centres_x.values()))) if len(centres_x) >= 2 else None,
        centre_line_cobb_deg=float(np.ptp(body_tilts)) if len(body_tilts) >= 2 else None,
        set_aside=list(level_report.dropped),
        lumbar_like_below_l5=int(level_report.lumbar_like_below_l5),
        l5_sized_without_disc_below=int(level_report.l5_sized_without_disc_below),
        sacrum_at_lower_edge=bool(level_report.sacrum_at_lower_edge),
    )
    _flag_heights(q, thresholds)
    q.flags = case_flags(q, thresholds)
    return q


def coronal_tilts(positions: dict, bodies: list) -> dict:
    """Name -> the coronal tilt (degrees) of the column's centre line at each structure of ``positions`` (name ->
    (position across the sagittal slices, height), mm): the line through the ``bodies``' positions, its slope taken
    between neighbouring bodies and read at the structure's height. Empty with fewer than two bodies."""
    if len(bodies) < 2:
        return {}
    across, height = np.array([positions[n] for n in bodies]).T
    order = np.argsort(height)
    across, height = across[order], height[order]
    slope = np.gradient(across, height) if len(set(height)) == len(height) else np.zeros_like(height)
    return {n: float(np.degrees(np.arctan(np.interp(h, height, slope)))) for n, (_, h) in positions.items()}


def _structure_quality(kind, mask, probs, box, axis, geometry, thresholds) -> StructureQuality:
    """Confidence, section agreement and volume of one structure, with its flags."""
    p = _class_probability(kind, probs, box)
    q = StructureQuality(
        confidence=float(p[mask].mean()),
        slice_agreement=section_agreement(mask, axis),
        volume_mm3=float(mask.sum()) * geometry.voxel_volume_mm3,
    )
    if q.confidence < thresholds.min_confidence:
        q.flags.append(qf.low_confidence(q.confidence))
    min_agreement = thresholds.min_section_agreement(kind, geometry.spacing[axis])
    if q.slice_agreement is not None and q.slice_agreement < min_agreement:
        q.flags.append(qf.sections_disagree(q.slice_agreement))
    return q


def _class_probability(kind: str, probs: np.ndarray, box) -> np.ndarray:
    """The probability of a structure's class within ``box`` (bodies: both body classes)."""
    if kind == "vertebra":
        return probs[BODY][box] + probs[L5_BODY][box]
    return probs[DISC if kind == "disc" else CANAL][box]


def _grown(box, shape) -> tuple:
    """``box`` grown by OUTLINE_MARGIN_VOXELS on every side, within ``shape``."""
    return tuple(
        slice(max(b.start - OUTLINE_MARGIN_VOXELS, 0), min(b.stop + OUTLINE_MARGIN_VOXELS, n))
        for b, n in zip(box, shape)
    )


def expected_dice(labels: np.ndarray, value: int, p: np.ndarray) -> float:
    """Soft Dice of structure ``value``'s mask with its class probability ``p`` over a region around it (``labels``
    and ``p`` cropped alike): 1 when the network is sure of every voxel in and out; lower where its probability
    spreads past the outline or stays low inside. Voxels of another named structure are left out (a neighbouring
    body holds the same class)."""
    inside, counted = labels == value, (labels == value) | (labels == 0)
    return float(2.0 * p[inside].sum() / (inside.sum() + p[counted].sum()))


def section_agreement(mask: np.ndarray, axis: int) -> Optional[float]:
    """Mean Dice of neighbouring sections of ``mask`` along array ``axis`` (the sagittal slices), over the pairs
    where both sections hold the structure: a structure's lateral ends, where it starts and stops, would count as
    total disagreement otherwise and penalise every structure, more so the narrow ones. None: fewer than two."""
    area = mask.sum(axis=tuple(a for a in range(3) if a != axis))
    dice = []
    for k in range(mask.shape[axis] - 1):
        if area[k] and area[k + 1]:
            both = np.logical_and(np.take(mask, k, axis), np.take(mask, k + 1, axis)).sum()
            dice.append(2.0 * both / (area[k] + area[k + 1]))
    return float(np.mean(dice)) if dice else None


def flag_dark_discs(
    q: SegmentationQuality, image, labels: np.ndarray, thresholds: QualityThresholds = THRESHOLDS
) -> None:
    """In place: each named disc's signal relative to the other discs' (``image``, a SpatialImage, and the final
    ``labels`` on its grid), flagged "darker than the other discs" below the threshold. Done on the input's grid, where
    the intensities are the scanner's own."""
    signals = disc_to_body_signals(image.array, labels, image.geometry.direction)
    for name, relative in relative_disc_signals(signals).items():
        s = q.structures.get(name)
        if s is None or relative is None:
            continue
        s.relative_signal = relative
        if relative < thresholds.max_relative_disc_signal:
            s.flags.append(qf.darker_than_other_discs(relative))


def _flag_heights(q: SegmentationQuality, thresholds: QualityThresholds) -> None:
    heights = {n: s.height_mm for n, s in q.structures.items() if s.height_mm is not None}
    for name, flag in qf.height_flags(heights, thresholds).items():
        q.structures[name].flags.append(flag)


def case_flags(q: SegmentationQuality, thresholds: QualityThresholds = THRESHOLDS) -> list:
    """The case's flags: the naming's doubts, the column's shape, a weak canal."""
    out = []
    if not q.anchored_on_l5:
        out.append(qf.L5_NOT_RECOGNISED)
    if q.lumbar_like_below_l5:
        out.append(qf.LUMBAR_LIKE_BELOW_L5)
    if q.l5_sized_without_disc_below:
        out.append(qf.L5_SIZED_WITHOUT_DISC_BELOW)
    if "L5" in q.structures and "L5-S1" not in q.structures:
        out.append(qf.NO_L5_S1_DISC)
    if q.sacrum_at_lower_edge:
        out.append(qf.SACRUM_AT_LOWER_EDGE)
    if q.lumbar_bodies < thresholds.expected_lumbar_bodies:
        out.append(qf.few_lumbar_bodies(q.lumbar_bodies, thresholds.expected_lumbar_bodies))
    if _laterally_curved(q, thresholds):
        out.append(qf.lateral_curve(q.centre_line_cobb_deg, q.lateral_drift_mm))
    flagged = [d for d in q.set_aside if d in thresholds.flagged_set_aside]
    if flagged:
        out.append(qf.set_aside(LevelReport(dropped=flagged).summary()))
    canal = q.structures.get(anatomy.canal().name)
    out += [f"canal: {f}" for f in (canal.flags if canal else [])]
    return out


def _laterally_curved(q: SegmentationQuality, thresholds: QualityThresholds) -> bool:
    """Whether the column curves (or leans) more than the level naming was checked on."""
    if q.centre_line_cobb_deg is None or q.lateral_drift_mm is None:
        return False
    return q.centre_line_cobb_deg > thresholds.max_centre_line_cobb_deg or (
        q.lateral_drift_mm > thresholds.max_lateral_drift_mm
    )
