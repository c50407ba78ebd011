"""The geometric checks of the quality report, from the measured rows alone: what ``disccore measure`` can say of
any segmentation (one edited by hand in Slicer too), where no network probabilities exist. Thresholds:
:mod:`disccore.quality.thresholds`.
"""

from __future__ import annotations

from .. import anatomy
from ..quality import flags as qf
from ..quality.thresholds import THRESHOLDS, QualityThresholds


def geometric_checks(result, thresholds: QualityThresholds = THRESHOLDS) -> tuple[dict, list]:
    """(level -> flags, the case's flags) of a :class:`.result.MeasurementResult`: a body much taller (merged?) or
    shorter than the others, an implausible disc height, a disc missing between two named bodies."""
    levels: dict = {}
    heights = {row["level"]: _body_height(row) for row in result.vertebrae}
    for name, flag in qf.height_flags(heights, thresholds).items():
        levels.setdefault(name, []).append(flag)
    for row in result.discs:
        h = row.get("disc_height_mm")
        if h is not None and not thresholds.min_disc_height_mm <= h <= thresholds.max_disc_height_mm:
            levels.setdefault(row["level"], []).append(qf.implausible_disc_height(h))
    measured_discs = {row["level"] for row in result.discs}
    case = [
        qf.missing_disc(d.name, d.upper, d.lower)
        for d in anatomy.discs()
        if d.name not in measured_discs and d.upper in heights and d.lower in heights
    ]
    return levels, case


def _body_height(row: dict):
    """A body's height (mm): the middle one, else the mean of those measured (None when none was)."""
    if row.get("vertebra_height_middle_mm") is not None:
        return row["vertebra_height_middle_mm"]
    known = [row.get(f"vertebra_height_{k}_mm") for k in ("anterior", "posterior")]
    known = [h for h in known if h is not None]
    return sum(known) / len(known) if known else None
