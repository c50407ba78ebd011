"""Measurement results: rows with units, measured lines (RAS mm), CSV and JSON writers.

Missing values are ``None`` in Python, empty cells in CSV and ``null`` in JSON. All files are written
atomically through :mod:`disccore.outputs` (refuse to overwrite unless asked; never a partial file).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..outputs import atomic_output, check_output_path
from ..quality.flags import STENOSIS_ON_MODEL_OUTLINE, join_flags, merge_flags
from .definitions import DEFINITIONS

DISC_COLUMNS = (
    "level",
    "disc_volume_mm3",
    "disc_height_mm",
    "disc_height_median_mm",
    "disc_height_anterior_mm",
    "disc_height_middle_mm",
    "disc_height_posterior_mm",
    "disc_height_index",
    "canal_ap_diameter_mm",
    "canal_area_mm2",
    "stenosis",
    "stenosis_criterion",
    "voxel_size_mm",
    "notes",
    "qc",
)

VERTEBRA_COLUMNS = (
    "level",
    "vertebra_volume_mm3",
    "vertebra_height_anterior_mm",
    "vertebra_height_middle_mm",
    "vertebra_height_posterior_mm",
    "notes",
    "qc",
)

# in the note of a row whose structure has voxels on the outermost slice of the grid (the report marks such rows)
CUT_BY_FIELD_OF_VIEW = "may be cut off by the field of view"


def grid_edge_note(sides) -> str:
    """The note for a structure reaching the edge of the image on ``sides`` ('superior', 'left', ...)."""
    where = " and ".join(sides)
    return f"reaches the {where} edge of the image: {CUT_BY_FIELD_OF_VIEW} (its volume and heights may be partial)"


@dataclass(frozen=True)
class MeasuredLine:
    """One measured segment: ``level`` (e.g. 'L4-L5'), ``measurement`` (its column name), ``value_mm``,
    ``start_ras`` and ``end_ras`` (RAS mm, 3-tuples)."""

    level: str
    measurement: str
    value_mm: float
    start_ras: tuple
    end_ras: tuple

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "measurement": self.measurement,
            "value_mm": _round(self.value_mm, 3),
            "start_ras": [round(float(v), 3) for v in self.start_ras],
            "end_ras": [round(float(v), 3) for v in self.end_ras],
        }


@dataclass
class MeasurementResult:
    """Rows per disc (``discs``, keys DISC_COLUMNS, cranial->caudal) and vertebral body (``vertebrae``, keys
    VERTEBRA_COLUMNS), the measured ``lines`` and context (voxel spacing, warnings, inputs).

    The quality report: ``qc_levels`` (level -> flags) and ``qc_case`` (the case's flags, which put every row in
    doubt: each row's ``qc`` cell holds its own flags and the case's), ``segmentation_quality`` (the network's
    signals, :meth:`disccore.segment.quality.SegmentationQuality.to_dict`, when the case was segmented here)."""

    discs: list = field(default_factory=list)
    vertebrae: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    voxel_spacing_mm: tuple = ()
    warnings: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    qc_levels: dict = field(default_factory=dict)
    qc_case: list = field(default_factory=list)
    segmentation_quality: Optional[dict] = None

    def add_flags(self, levels: dict, case: list) -> None:
        """Add quality flags (level -> phrases, the case's phrases) and refresh every row's ``qc`` cell."""
        for level, flags in levels.items():
            self.qc_levels[level] = merge_flags(self.qc_levels.get(level, []), flags)
        self.qc_case = merge_flags(self.qc_case, case)
        for row in self.discs + self.vertebrae:
            row["qc"] = join_flags(self.qc_levels.get(row["level"], []) + self.qc_case)

    def add_segmentation_quality(self, quality) -> None:
        """The network's quality report (:class:`disccore.segment.quality.SegmentationQuality`): its signals kept,
        its flags merged into the rows'."""
        self.add_quality_report(quality.report())

    def add_quality_report(self, report: dict) -> None:
        """The same from the report as ``disccore segment`` writes it (``NAME.qc.json``: case, levels,
        segmentation). A level graded stenotic on the network's outline is flagged for review."""
        self.segmentation_quality = report.get("segmentation")
        levels = {level: list(flags) for level, flags in (report.get("levels") or {}).items()}
        for row in self.discs:
            if row.get("stenosis"):  # graded on the network's sac outline, which can be wrong either way
                levels.setdefault(row["level"], []).append(STENOSIS_ON_MODEL_OUTLINE)
        self.add_flags(levels, report.get("case") or [])

    def disc(self, level: str) -> Optional[dict]:
        """The row of one disc level, or None."""
        return next((r for r in self.discs if r["level"] == level), None)

    def vertebra(self, level: str) -> Optional[dict]:
        return next((r for r in self.vertebrae if r["level"] == level), None)

    def to_dict(self) -> dict:
        """JSON-ready content (missing values are None -> null)."""
        return {
            "units": {"length": "mm", "area": "mm2", "volume": "mm3", "coordinates": "RAS"},
            "voxel_spacing_mm": [round(float(s), 6) for s in self.voxel_spacing_mm],
            "discs": [_clean_row(r, DISC_COLUMNS) for r in self.discs],
            "vertebrae": [_clean_row(r, VERTEBRA_COLUMNS) for r in self.vertebrae],
            "lines": [ln.to_dict() for ln in self.lines],
            "warnings": list(self.warnings),
            "inputs": dict(self.inputs),
            "qc": {
                "case": list(self.qc_case),
                "levels": dict(self.qc_levels),
                "segmentation": self.segmentation_quality,
            },
            "definitions": dict(DEFINITIONS),
        }


def _round(v, nd):
    return None if v is None else round(float(v), nd)


def _clean_row(row: dict, columns) -> dict:
    out = {}
    for c in columns:
        v = row.get(c)
        if isinstance(v, float):
            v = round(v, 4 if c == "disc_height_index" else 3)
        out[c] = v
    return out


def _csv_text(rows, columns) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        clean = _clean_row(r, columns)
        w.writerow(["" if clean[c] is None else clean[c] for c in columns])
    return buf.getvalue()


def write_disc_csv(result: MeasurementResult, path, overwrite: bool = False) -> Path:
    """One row per disc level, columns DISC_COLUMNS (units in the names). Atomic."""
    check_output_path(path, overwrite)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(_csv_text(result.discs, DISC_COLUMNS), encoding="utf-8")
    return Path(path)


def write_vertebra_csv(result: MeasurementResult, path, overwrite: bool = False) -> Path:
    """One row per vertebral body, columns VERTEBRA_COLUMNS. Atomic."""
    check_output_path(path, overwrite)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(_csv_text(result.vertebrae, VERTEBRA_COLUMNS), encoding="utf-8")
    return Path(path)


def write_json(result: MeasurementResult, path, overwrite: bool = False) -> Path:
    """The whole result (rows, lines in RAS mm, spacing, units, definitions) as JSON. Atomic."""
    check_output_path(path, overwrite)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return Path(path)
