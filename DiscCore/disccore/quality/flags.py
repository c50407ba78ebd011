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
LUMBAR_LIKE_BELOW_L5 = "a lumbar-like body below L5 (six lumbar vertebrae?): check the level names"
NO_L5_S1_DISC = "no L5-S1 disc below L5 (a sacralised L5?): check the level names"


def low_confidence(confidence: float) -> str:
    return f"low confidence {confidence:.2f}"


def sections_disagree(agreement: float) -> str:
    return f"{SECTIONS_DISAGREE} (Dice {agreement:.2f})"


def lateral_curve(drift_mm: float) -> str:
    return f"lateral curve {drift_mm:.0f} mm"


def few_lumbar_bodies(count: int, expected: int) -> str:
    return f"{count} lumbar bodies named ({expected} expected)"


def set_aside(summary: str) -> str:
    return f"set aside: {summary}"


def missing_disc(disc: str, upper: str, lower: str) -> str:
    return f"no {disc} disc between {upper} and {lower}"


def implausible_disc_height(height_mm: float) -> str:
    return f"implausible disc height {height_mm:.1f} mm"


def join_flags(flags: Iterable[str]) -> str:
    """The ``qc`` cell: the flags once each, in order, joined with "; " (empty when none)."""
    return "; ".join(dict.fromkeys(f for f in flags if f))


def height_flags(heights: dict, order, thresholds: QualityThresholds = THRESHOLDS) -> dict[str, str]:
    """Body name -> flag for the bodies much taller (merged?) or much shorter than the median of their anatomical
    neighbours that have a height. ``heights``: name -> height (mm; None when unknown); ``order``: the body names
    cranial -> caudal."""
    order = list(order)
    out = {}
    for k, name in enumerate(order):
        if heights.get(name) is None:
            continue
        neighbours = [heights.get(order[j]) for j in (k - 1, k + 1) if 0 <= j < len(order)]
        neighbours = [h for h in neighbours if h]
        if not neighbours:
            continue
        typical, h = float(np.median(neighbours)), float(heights[name])
        if h > thresholds.merged_body_height_factor * typical:
            out[name] = f"{POSSIBLY_MERGED} (height {h:.0f} mm, neighbours {typical:.0f} mm)"
        elif h < thresholds.short_body_height_factor * typical:
            out[name] = f"body height {h:.0f} mm, far below its neighbours' {typical:.0f} mm"
    return out
