"""Every threshold of the quality report, named once: what turns a raw quality signal into a flag.

Those calibrated on held-out predictions say so beside them; the others are first guesses. Change them here only (or
pass a ``QualityThresholds`` with some fields replaced: ``dataclasses.replace(THRESHOLDS, min_confidence=0.8)``).
The ones judged on one model's output (MODEL_CALIBRATED) are also stored with that model, in its manifest entry's
"quality_thresholds", as its post-processing is: segmenting with a model judges its probabilities by its own values,
and a model retrained later can carry values calibrated on its own held-out predictions without changing another's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..segment.column import OFF_COLUMN


@dataclass(frozen=True)
class QualityThresholds:
    # --- from the network's probabilities (disccore.segment.quality)
    #: mean class probability inside a named structure below which it is "low confidence"
    min_confidence: float = 0.75
    #: how much neighbouring sagittal sections 1 mm apart may disagree (1 - their mean Dice) before a body's or a disc's
    #: "sections disagree". Bodies: just beyond the worst 1 % of the well-segmented (Dice >= 0.8) ones on held-out
    #: images; discs looser, as good discs went down to 0.90 (models/MODEL_CARD.md, "`sections disagree`, calibrated").
    #: On sections further apart, see section_spacing_growth
    max_body_section_disagreement: float = 0.05
    max_disc_section_disagreement: float = 0.10
    #: the disagreement of well-segmented structures grows as (slice spacing / 1 mm) ** this (three real 1 mm images
    #: resliced to 2-5 mm: benchmarks/section_agreement_spacing.py), so thick-sliced series are judged alike
    section_spacing_growth: float = 0.8
    #: the canal's minimum agreement at any spacing: a narrow structure (a few sections of a thick-sliced series)
    min_canal_slice_agreement: float = 0.4
    #: a body or disc where the column's centre line leans more than this (degrees, coronal plane) from the sagittal
    #: slices is "seen obliquely": a 2D sagittal network cuts it slantwise, and its outline suffers
    #: (models/MODEL_CARD.md, "Lateral curves flagged where they lean")
    max_coronal_tilt_deg: float = 14.0
    #: a centre-line Cobb angle above this is a "lateral curve" for the whole case: as strong as the strongest curves
    #: the level naming was checked on (held-out images bent by C curves of Cobb 40 degrees measure 17-42 and 17-53
    #: degrees, median 28-30, on their bodies' centres; benchmarks/qc_calibration.py)
    max_centre_line_cobb_deg: float = 45.0
    #: ... or a spread of the named bodies' left-right centres (max - min, mm) above this: wider than on any of those
    #: bent images but a few (40-degree curves: 9-29 mm on fold 1's images, 16-34 mm on fold 0's)
    max_lateral_drift_mm: float = 30.0
    #: a disc whose signal (its median over its bodies') is below this share of the other discs' in the same image is
    #: "darker than the other discs": degenerated, and its outline may take in the endplates (quality.disc_signal). On
    #: the 61 real images every L4-L5 darkened to 35 % and thinned to 60 % fell below it (at most 0.69), and 7 of 386
    #: untouched discs (five visibly dark ones; the next at 0.74); benchmarks/dark_discs.py, models/MODEL_CARD.md
    max_relative_disc_signal: float = 0.72
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

    def min_section_agreement(self, kind: str, slice_spacing_mm: float) -> float:
        """The section agreement below which a structure of ``kind`` ("vertebra", "disc", "canal") is flagged, its
        sagittal sections ``slice_spacing_mm`` apart (never judged stricter than at 1 mm, the finest calibrated)."""
        if kind == "canal":
            return self.min_canal_slice_agreement
        at_1mm = self.max_disc_section_disagreement if kind == "disc" else self.max_body_section_disagreement
        return 1.0 - at_1mm * max(float(slice_spacing_mm), 1.0) ** self.section_spacing_growth

    @classmethod
    def from_manifest(cls, entry: dict) -> QualityThresholds:
        """The code's thresholds with a model entry's "quality_thresholds" in place of the calibrated ones; a missing
        key keeps the code's value, any other key raises TypeError (a damaged manifest)."""
        unknown = set(entry) - set(MODEL_CALIBRATED)
        if unknown:
            raise TypeError(f"unknown quality thresholds {sorted(unknown)}")
        return replace(cls(), **{k: float(v) for k, v in entry.items()})

    def for_manifest(self) -> dict:
        """The calibrated thresholds as a model entry's "quality_thresholds" section."""
        values = asdict(self)
        return {k: values[k] for k in MODEL_CALIBRATED}


#: the thresholds set on a model's own output (its probabilities, its sections' agreement, where its outlines fail on
#: curves): stored with each model. The rest judge anatomy or the masks and hold for any model.
MODEL_CALIBRATED = (
    "min_confidence",
    "max_body_section_disagreement",
    "max_disc_section_disagreement",
    "section_spacing_growth",
    "min_canal_slice_agreement",
    "max_coronal_tilt_deg",
    "max_centre_line_cobb_deg",
    "max_lateral_drift_mm",
)

THRESHOLDS = QualityThresholds()
