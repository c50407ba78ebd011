"""Stenosis grade of a disc level from the dural sac's AP diameter and area, and which cut-off fired.

The segmented canal is the dural sac (CSF inside the dura), so only cut-offs published for the sac apply
(see :mod:`disccore.measure.constants` for the values and references).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .constants import DURAL_SAC_AP_ABSOLUTE_MM, DURAL_SAC_AREA_ABSOLUTE_MM2, DURAL_SAC_AREA_RELATIVE_MM2


@dataclass(frozen=True)
class Criterion:
    """One published cut-off: ``grade`` ('absolute' | 'relative') when ``column`` < ``cutoff``."""

    grade: str
    column: str  # the result column it reads
    quantity: str  # how the criterion names it ('AP', 'area')
    cutoff: float
    unit: str
    references: str

    @property
    def label(self) -> str:
        """e.g. 'AP < 10 mm'."""
        return f"{self.quantity} < {self.cutoff:g} {self.unit}"


#: between the cut-offs a level meets in its ``stenosis_criterion`` ('AP < 10 mm; area < 75 mm2')
CRITERIA_SEPARATOR = "; "

#: the colour a grade is shown in, in the PNG report's table and on the Slicer table's cells (the grade is also
#: written out wherever the colour is shown)
STENOSIS_COLOURS = {"absolute": "#ef9a9a", "relative": "#ffe082"}

#: strictest first within each quantity: only the strictest criterion a quantity meets is named
CRITERIA = (
    Criterion("absolute", "canal_ap_diameter_mm", "AP", DURAL_SAC_AP_ABSOLUTE_MM, "mm", "Bolender 1985; Steurer 2011"),
    Criterion(
        "absolute", "canal_area_mm2", "area", DURAL_SAC_AREA_ABSOLUTE_MM2, "mm2", "Schonstrom 1985; Hamanishi 1994"
    ),
    Criterion("relative", "canal_area_mm2", "area", DURAL_SAC_AREA_RELATIVE_MM2, "mm2", "Hamanishi 1994"),
)


def grade_stenosis(ap_mm: Optional[float], area_mm2: Optional[float]) -> tuple[Optional[str], Optional[str]]:
    """(grade, criterion): grade 'absolute', 'relative' or '' (none), criterion the cut-offs met joined by '; '
    (e.g. 'AP < 10 mm; area < 75 mm2'); (None, None) when neither value was measured."""
    if ap_mm is None and area_mm2 is None:
        return None, None
    values = {"canal_ap_diameter_mm": ap_mm, "canal_area_mm2": area_mm2}
    fired: dict[str, Criterion] = {}
    for c in CRITERIA:
        v = values[c.column]
        if v is not None and v < c.cutoff and c.column not in fired:
            fired[c.column] = c
    grades = {c.grade for c in fired.values()}
    grade = "absolute" if "absolute" in grades else "relative" if grades else ""
    return grade, CRITERIA_SEPARATOR.join(c.label for c in fired.values())


def grading_text() -> str:
    """The grading rule in words, built from :data:`CRITERIA` (for the definitions and column descriptions)."""
    parts = []
    for grade in ("absolute", "relative"):
        rule = " or ".join(f"{c.label} ({c.references})" for c in CRITERIA if c.grade == grade)
        parts.append(f"'{grade}' when {rule}")
    return ", ".join(parts) + ", empty otherwise"
