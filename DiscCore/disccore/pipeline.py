"""Segment + measure + report for one case (``disccore run``; the batch in :mod:`disccore.batch` runs it per case)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import anatomy
from .errors import OutputError
from .outputs import check_output_path, refuse_inputs_as_outputs, remove_stale_temporaries, staged_outputs
from .progress import ProgressCallback, report, sub_progress

IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


@dataclass
class CaseOutputs:
    """Where one case's results go (all inside the output folder, prefixed by the case name)."""

    segmentation: Path
    discs_csv: Path
    vertebrae_csv: Path
    json: Path
    report_png: Path

    @classmethod
    def for_case(cls, outdir: Path, case: str) -> CaseOutputs:
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
    review: list = field(default_factory=list)  # why the case needs review (its quality flags); empty: it does not


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
    from .quality.review import review_reasons
    from .report import render_report
    from .segment import segment_image_with_quality
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
    labels, quality = segment_image_with_quality(
        image, model=model, device=device, progress=sub_progress(progress, 0.02, 0.85)
    )
    check_something_found(labels)
    names = {s.label: s.name for s in anatomy.structures()}
    report(progress, 0.87, f"{case}: measuring")
    result = measure_segmentation(labels, names, progress=sub_progress(progress, 0.87, 0.95))
    if quality is not None:
        result.add_segmentation_quality(quality)
    report(progress, 0.96, f"{case}: writing")
    with staged_outputs(outputs.all(), overwrite) as staged:
        write_segmentation(labels, staged[outputs.segmentation], names)
        write_disc_csv(result, staged[outputs.discs_csv])
        write_vertebra_csv(result, staged[outputs.vertebrae_csv])
        write_json(result, staged[outputs.json])
        render_report(image, labels, names, result, staged[outputs.report_png])
    report(progress, 1.0, f"{case}: done")
    reasons = review_reasons(result.to_dict())
    return CaseResult(case, image_path, True, time.monotonic() - start, outputs, list(result.discs), review=reasons)


# The batch moved to disccore.batch; these names stay importable from here (lazily: disccore.batch imports us).
_MOVED_TO_BATCH = ("run_batch", "find_inputs", "summary_csv_text", "levels_csv_text")


def __getattr__(name):
    if name in _MOVED_TO_BATCH:
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
