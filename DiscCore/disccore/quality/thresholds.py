"""Every threshold of the quality report, named once: what turns a raw quality signal into a flag.

The values are first guesses, to be calibrated on held-out predictions; change them here only (or pass a
``QualityThresholds`` with some fields replaced: ``dataclasses.replace(THRESHOLDS, min_confidence=0.8)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..segment.column import OFF_COLUMN


@dataclass(frozen=True)
class QualityThresholds:
    # --- from the network's probabilities (disccore.segment.quality)
    #: mean class probability inside a named structure below which it is "low confidence"
    min_confidence: float = 0.75
    #: mean Dice of neighbouring sagittal sections of a body or disc below which its "sections disagree"
    min_slice_agreement: float = 0.6
    #: the same for the canal: a narrow structure (a few sections of a thick-sliced series), whose sections differ more
    min_canal_slice_agreement: float = 0.4
    #: spread (max - min, mm) of the named bodies' left-right centres above which the column is "laterally curved"
    max_lateral_drift_mm: float = 20.0
    #: fewer lumbar bodies (L1..L5) named than this is flagged (a short field of view, or four lumbar vertebrae)
    expected_lumbar_bodies: int = 5
    # --- from the masks alone (disccore.measure.qc) and from the model grid (both flag "possibly merged bodies")
    #: a body this many times taller than the median of the other bodies may be two bodies merged
    merged_body_height_factor: float = 1.5
    #: a body shorter than this share of the other bodies' median height is flagged (a fracture, a body cut short)
    short_body_height_factor: float = 0.6
    #: disc heights (mean, mm) outside this range are implausible for a lumbar disc
    min_disc_height_mm: float = 1.5
    max_disc_height_mm: float = 20.0
    # --- pieces the level naming set aside (disccore.segment.naming / .column): these kinds are flagged. Not by
    # default: the sacrum, bodies above T11, small body fragments, disc pieces between no two named bodies (all usual
    # and harmless); a body below L5 is judged apart (a lumbar-like one is a transitional-anatomy hint).
    flagged_set_aside: tuple = (OFF_COLUMN,)


THRESHOLDS = QualityThresholds()
