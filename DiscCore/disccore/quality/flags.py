"""The quality flags: short phrases a reader understands, and the checks that both sides of the report share.

A flag names what looks wrong and, where there is one, the number behind it ("low confidence 0.61"); the raw
signals travel beside the flags (the case's JSON), so thresholds can be calibrated afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .thresholds import THRESHOLDS, QualityThresholds

L5_NOT_RECOGNISED = "L5 not recognised: names counted from the lowest body"
SECTIONS_DISAGREE = "sections disagree"
POSSIBLY_MERGED = "possibly merged bodies"
SHORT_BODY = "a body far shorter than the others"
LUMBAR_LIKE_BELOW_L5 = "a lumbar-like body below L5 (six lumbar vertebrae?): check the level names"
#: the model's sac can stop at the nerve roots behind the CSF (healthy volunteers graded at 12 % of lumbar levels,
#: benchmarks/canal_healthy.py) or run into epidural fat (phantoms): a grade from it is for a reader to confirm
STENOSIS_ON_MODEL_OUTLINE = "stenosis graded on the model's sac outline: check the outline on the image"
L5_SIZED_WITHOUT_DISC_BELOW = (
    "a body as large as L5 below it with no disc below (a sacralised L5, every name one level off?): "
    "check the level names"
)
NO_L5_S1_DISC = "no L5-S1 disc below L5 (a sacralised L5?): check the level names"
SACRUM_AT_LOWER_EDGE = (
    "the body taken for the sacrum reaches the lower edge of the image (does the image end inside L5? then every "
    "name is one level off): check the level names"
)


def low_confidence(confidence: float) -> str:
    return f"low confidence {confidence:.2f}"


def sections_disagree(agreement: float) -> str:
    return f"{SECTIONS_DISAGREE} (Dice {agreement:.2f})"


def lateral_curve(cobb_deg: float, drift_mm: float) -> str:
    return f"lateral curve (Cobb angle about {cobb_deg:.0f} deg, drift {drift_mm:.0f} mm): check the level names"


def seen_obliquely(tilt_deg: float) -> str:
    return f"seen obliquely (the column tilts {abs(tilt_deg):.0f} deg to the sagittal slices)"


def few_lumbar_bodies(count: int, expected: int) -> str:
    return f"{count} lumbar bodies named ({expected} expected)"


def set_aside(summary: str) -> str:
    return f"set aside: {summary}"


def missing_disc(disc: str, upper: str, lower: str) -> str:
    return f"no {disc} disc between {upper} and {lower}"


def implausible_disc_height(height_mm: float) -> str:
    return f"implausible disc height {height_mm:.1f} mm"


def darker_than_other_discs(relative_signal: float) -> str:
    return (
        f"darker than the other discs ({relative_signal:.2f} of their signal; degenerated?): its outline may take in "
        "the endplates, the height about 1 mm high"
    )


def merge_flags(*lists: Iterable[str]) -> list[str]:
    """The flags of several lists in order, each once: a flag whose words before its numbers in brackets are
    already there is left out (a body's height is checked on the model grid and again by the measurement)."""
    out: dict = {}
    for flags in lists:
        for flag in flags:
            out.setdefault(flag.split(" (")[0], flag)
    return list(out.values())


def join_flags(flags: Iterable[str]) -> str:
    """The ``qc`` cell: the flags once each, in order, joined with "; " (empty when none)."""
    return "; ".join(merge_flags(f for f in flags if f))


def height_flags(heights: dict, thresholds: QualityThresholds = THRESHOLDS) -> dict[str, str]:
    """Body name -> flag for the bodies much taller (merged?) or much shorter than the others: compared with the
    median height of the other bodies (not only the two next to it, whose mean a merged neighbour would skew; lumbar
    bodies differ far less than the factors allow). ``heights``: name -> height (mm; None when unknown)."""
    known = {n: float(h) for n, h in heights.items() if h}
    out = {}
    for name, h in known.items():
        others = [v for n, v in known.items() if n != name]
        if len(others) < 2:  # one other body: which of the two is odd cannot be told
            continue
        typical = float(np.median(others))
        if h > thresholds.merged_body_height_factor * typical:
            out[name] = f"{POSSIBLY_MERGED} (height {h:.0f} mm, the others {typical:.0f} mm)"
        elif h < thresholds.short_body_height_factor * typical:
            out[name] = f"{SHORT_BODY} (height {h:.0f} mm, the others {typical:.0f} mm)"
    return out
