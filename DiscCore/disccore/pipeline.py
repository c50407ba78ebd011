"""Segment + measure + report for one case, and for a batch of cases.

The same functions serve ``disccore run``, ``disccore batch`` and (through discmrml) Slicer's batch.py.
A batch never stops at a broken case: each failure is recorded with its message and the batch goes on.
"""

from __future__ import annotations

import csv
import io as _io
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from . import anatomy
from .errors import DiscCoreError, InputError, OutputError
from .outputs import (
    check_output_path,
    refuse_inputs_as_outputs,
    remove_stale_temporaries,
    staged_outputs,
    write_text_atomic,
)
from .progress import ProgressCallback, report, sub_progress

IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
# Outputs of this tool and label maps are not images to segment.
NOT_AN_IMAGE_SUFFIXES = (".seg.nrrd",)


@dataclass
class CaseOutputs:
    """Where one case's results go (all inside the output folder, prefixed by the case name)."""

    segmentation: Path
    discs_csv: Path
    vertebrae_csv: Path
    json: Path
    report_png: Path

    @classmethod
    def for_case(cls, outdir: Path, case: str) -> "CaseOutputs":
        return cls(
            segmentation=outdir / f"{case}.seg.nrrd",
            discs_csv=outdir / f"{case}_discs.csv",
            vertebrae_csv=outdir / f"{case}_vertebrae.csv",
            json=outdir / f"{case}_measurements.json",
            report_png=outdir / f"{case}_report.png",
        )

    def all(self) -> list[Path]:
        return [self.segmentation, self.discs_csv, self.vertebrae_csv, self.json, self.report_png]


@dataclass
class CaseResult:
    case: str
    input: Path
    ok: bool
    seconds: float
    outputs: Optional[CaseOutputs] = None
    disc_rows: list = field(default_factory=list)
    error: str = ""


def case_name(path: Path) -> str:
    """A case name from an input path: the file name without its image suffixes, or the folder name."""
    name = path.name
    for suffix in IMAGE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def prepare_output_dir(outdir: Path) -> Path:
    """Create ``outdir`` if its parent exists; refuse a missing parent (a typo should not spawn folder trees)."""
    outdir = Path(outdir)
    if outdir.exists():
        if not outdir.is_dir():
            raise OutputError(f"the output '{outdir}' is a file; give a folder")
        return outdir
    if not outdir.parent.is_dir():
        raise OutputError(f"the output folder's parent '{outdir.parent}' does not exist; create it first")
    try:
        outdir.mkdir()
    except OSError as exc:
        raise OutputError(f"the output folder '{outdir}' could not be created ({exc.strerror})") from None
    return outdir


def run_case(
    image_path,
    outdir,
    *,
    model: Optional[str] = None,
    device: str = "auto",
    overwrite: bool = False,
    series=None,
    case: Optional[str] = None,
    progress: Optional[ProgressCallback] = None,
) -> CaseResult:
    """Segment, measure and draw one image; write its outputs into ``outdir``.

    Raises DiscCoreError subclasses on bad input, NothingFoundError when no vertebral body or disc was
    found. The outputs are checked (names, existing files, a writable folder) before any work, and appear
    together or not at all (see :func:`disccore.outputs.staged_outputs`).
    """
    from .io import read_image, write_segmentation
    from .measure import measure_segmentation, write_disc_csv, write_json, write_vertebra_csv
    from .report import render_report
    from .segment import segment_image
    from .segment.checks import check_something_found

    start = time.monotonic()
    image_path = Path(image_path)
    outdir = Path(outdir)
    case = case or case_name(image_path)
    outputs = CaseOutputs.for_case(outdir, case)
    refuse_inputs_as_outputs(outputs.all(), [image_path])
    remove_stale_temporaries(outdir)
    for p in outputs.all():  # fail fast, before minutes of work
        check_output_path(p, overwrite)

    report(progress, 0.0, f"{case}: reading")
    image = read_image(image_path, series=series)
    labels = segment_image(image, model=model, device=device, progress=sub_progress(progress, 0.02, 0.85))
    check_something_found(labels)
    names = {s.label: s.name for s in anatomy.structures()}
    report(progress, 0.87, f"{case}: measuring")
    result = measure_segmentation(labels, names, progress=sub_progress(progress, 0.87, 0.95))
    report(progress, 0.96, f"{case}: writing")
    with staged_outputs(outputs.all(), overwrite) as staged:
        write_segmentation(labels, staged[outputs.segmentation], names)
        write_disc_csv(result, staged[outputs.discs_csv])
        write_vertebra_csv(result, staged[outputs.vertebrae_csv])
        write_json(result, staged[outputs.json])
        render_report(image, labels, names, result, staged[outputs.report_png])
    report(progress, 1.0, f"{case}: done")
    return CaseResult(case, image_path, True, time.monotonic() - start, outputs, list(result.discs))


def find_inputs(inputs: Iterable) -> list[Path]:
    """Expand the batch inputs: files as given; a folder gives its image files, or itself if it holds DICOM.

    Raises InputError for a path that does not exist (so a typo is not silently skipped).
    """
    found: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise InputError(f"'{p}' does not exist")
        if p.is_file():
            found.append(p)
            continue
        images = sorted(
            f
            for f in p.iterdir()
            if f.is_file()
            and f.name.lower().endswith(IMAGE_SUFFIXES)
            and not f.name.lower().endswith(NOT_AN_IMAGE_SUFFIXES)
            and not f.name.startswith(".")
        )
        if images:
            found.extend(images)
        elif any(f.is_file() for f in p.iterdir()):
            found.append(p)  # a DICOM series folder: read_image lists/picks the series
        else:
            subdirs = sorted(d for d in p.iterdir() if d.is_dir())
            found.extend(subdirs)
    names = [case_name(f) for f in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"several inputs share the case name(s) {', '.join(dupes)}; their outputs would collide")
    return found


def run_batch(
    inputs: Iterable,
    outdir,
    *,
    model: Optional[str] = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Optional[ProgressCallback] = None,
) -> list[CaseResult]:
    """Run every input through :func:`run_case`; a failing case is recorded and the batch goes on.

    Writes ``summary.csv`` (one row per case) and ``all_levels.csv`` (one row per case and disc level)
    into ``outdir``.
    """
    outdir = prepare_output_dir(Path(outdir))
    paths = find_inputs(inputs)
    if not paths:
        raise InputError("no images found in the given inputs")
    summary_path = outdir / "summary.csv"
    levels_path = outdir / "all_levels.csv"
    for p in (summary_path, levels_path):
        check_output_path(p, overwrite)
    results: list[CaseResult] = []
    n = len(paths)
    for idx, path in enumerate(paths):
        case = case_name(path)
        report(progress, idx / n, f"case {idx + 1}/{n}: {case}")
        start = time.monotonic()
        try:
            res = run_case(
                path, outdir, model=model, device=device, overwrite=overwrite, case=case,
                progress=sub_progress(progress, idx / n, (idx + 1) / n),
            )
        except DiscCoreError as exc:
            res = CaseResult(case, path, False, time.monotonic() - start, error=str(exc))
        except Exception as exc:  # a bug on one case must not lose the others' results
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            res = CaseResult(case, path, False, time.monotonic() - start, error=f"internal error: {detail}")
        results.append(res)
    report(progress, 1.0, f"{sum(r.ok for r in results)}/{n} cases succeeded")
    write_text_atomic(summary_path, summary_csv_text(results), overwrite=overwrite)
    write_text_atomic(levels_path, levels_csv_text(results), overwrite=overwrite)
    return results


SUMMARY_PER_LEVEL = ("disc_height_mm", "disc_volume_mm3", "canal_ap_diameter_mm")


def summary_csv_text(results: list[CaseResult]) -> str:
    """One row per case: status, time, and the main numbers of each core disc level (wide form)."""
    levels = [d.name for d in anatomy.discs() if d.core]
    header = ["case", "input", "status", "seconds", "error"] + [f"{lv} {m}" for lv in levels for m in SUMMARY_PER_LEVEL]
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in results:
        by_level = {row.get("level"): row for row in r.disc_rows}
        row = [r.case, str(r.input), "ok" if r.ok else "failed", f"{r.seconds:.1f}", r.error]
        for lv in levels:
            for m in SUMMARY_PER_LEVEL:
                v = by_level.get(lv, {}).get(m)
                row.append("" if v is None else v)
        w.writerow(row)
    return buf.getvalue()


def levels_csv_text(results: list[CaseResult]) -> str:
    """One row per case and disc level (long form), all measurement columns."""
    from .measure import DISC_COLUMNS

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case"] + list(DISC_COLUMNS))
    for r in results:
        for row in r.disc_rows:
            w.writerow([r.case] + ["" if row.get(c) is None else row.get(c) for c in DISC_COLUMNS])
    return buf.getvalue()
