"""The batch's tables: ``summary.csv`` (one row per case) and ``all_levels.csv`` (one row per case and disc level).

Both are rewritten atomically each time a case finishes, so a crash or Ctrl-C leaves the summary of what finished.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .. import anatomy
from ..outputs import check_output_path, write_text_atomic
from ..quality.review import NEEDS_REVIEW

SUMMARY_NAME = "summary.csv"
LEVELS_NAME = "all_levels.csv"
SUMMARY_PER_LEVEL = ("disc_height_mm", "disc_volume_mm3", "canal_ap_diameter_mm")


def rounded_rows(rows: list) -> list:
    """Disc rows rounded as the case's own CSV and JSON round them (a resumed case reads them back from its JSON)."""
    from ..measure import MeasurementResult

    return MeasurementResult(discs=list(rows)).to_dict()["discs"]


def summary_csv_text(results: list) -> str:
    """One row per case: status, time, error, ``needs_review`` ("yes" when the case or one of its levels has a quality
    flag, "no", empty for a failed case) and the main numbers of each core disc level (wide form)."""
    levels = [d.name for d in anatomy.discs() if d.core]
    header = ["case", "input", "status", "seconds", "error", "needs_review"]
    header += [f"{lv} {m}" for lv in levels for m in SUMMARY_PER_LEVEL]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in results:
        by_level = {row.get("level"): row for row in rounded_rows(r.disc_rows)}
        review = NEEDS_REVIEW[bool(r.review)] if r.ok else ""  # a failed case has no result to review
        row = [r.case, str(r.input), "ok" if r.ok else "failed", f"{r.seconds:.1f}", r.error, review]
        for lv in levels:
            for m in SUMMARY_PER_LEVEL:
                v = by_level.get(lv, {}).get(m)
                row.append("" if v is None else v)
        w.writerow(row)
    return buf.getvalue()


def levels_csv_text(results: list) -> str:
    """One row per case and disc level (long form), all measurement columns."""
    from ..measure import DISC_COLUMNS

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case"] + list(DISC_COLUMNS))
    for r in results:
        for row in rounded_rows(r.disc_rows):
            w.writerow([r.case] + ["" if row.get(c) is None else row.get(c) for c in DISC_COLUMNS])
    return buf.getvalue()


class SummaryFiles:
    """``summary.csv`` and ``all_levels.csv`` of one batch, kept in input order whatever order cases finish in."""

    def __init__(self, outdir: Path, order: list, overwrite: bool):
        self.summary = Path(outdir) / SUMMARY_NAME
        self.levels = Path(outdir) / LEVELS_NAME
        self.overwrite = overwrite
        self._rank = {case: i for i, case in enumerate(order)}
        self.results: list = []
        self._written = False

    def check(self) -> None:
        """Refuse existing tables before any work (unless overwriting)."""
        for p in (self.summary, self.levels):
            check_output_path(p, self.overwrite)

    def add(self, result, write: bool = True) -> None:
        """Record a finished case and rewrite both tables (atomically: a reader never sees half a file)."""
        self.results.append(result)
        self.results.sort(key=lambda r: self._rank.get(r.case, len(self._rank)))
        if write:
            self.write()

    def write(self) -> None:
        # Our own earlier version of the tables may be replaced; anything else only with --overwrite.
        replace = self.overwrite or self._written
        write_text_atomic(self.summary, summary_csv_text(self.results), overwrite=replace)
        write_text_atomic(self.levels, levels_csv_text(self.results), overwrite=replace)
        self._written = True
