"""One case of a batch as a picklable task, run so that any failure becomes a failed result, never an exception.

The same :func:`run_task` runs in this process, in a local worker process and on a Dask worker, so every executor
gives the same results.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..errors import Cancelled, DiscCoreError
from ..pipeline import CaseOutputs, CaseResult
from ..progress import ProgressCallback
from ..quality.review import review_reasons


def disccore_outputs(outdir: Path, case: str) -> list:
    """The files :func:`disccore.pipeline.run_case` writes for a case."""
    return CaseOutputs.for_case(outdir, case).all()


@dataclass
class CaseTask:
    """Everything a worker needs to run one case: ``case_fn(path, outdir, case=..., progress=..., **options)``.

    ``outputs`` are the files the case writes. ``since`` is when the batch started: outputs written after it are
    this batch's own, so a case tried again after its worker died takes them when they are complete (the attempt
    finished but could not report) and replaces them when not, instead of refusing them as "already exists".
    """

    index: int
    path: Path
    case: str
    outdir: Path
    case_fn: Optional[Callable] = None
    options: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    since: Optional[float] = None


class ResumedResult(CaseResult):
    """A case skipped by ``--resume``: its outputs were complete and newer than its input."""


def run_task(task: CaseTask, progress: Optional[ProgressCallback] = None) -> CaseResult:
    """Run one case; a failure is returned as a failed CaseResult with a one-line message."""
    start = time.monotonic()
    options = dict(task.options)
    if task.since is not None and _only_fresh_outputs(task):  # an earlier attempt in this batch wrote them
        done = resumed_result(task, since=task.since)
        if done is not None:
            return done
        options["overwrite"] = True  # its worker died half-way: replace what it left
    try:
        return task.case_fn(task.path, task.outdir, case=task.case, progress=progress, **options)
    except Cancelled:
        raise  # the user stopped the batch: not a failure of this case
    except DiscCoreError as exc:
        error = str(exc)
    except Exception as exc:  # a bug on one case must not lose the others' results
        error = "internal error: " + traceback.format_exception_only(type(exc), exc)[-1].strip()
    return CaseResult(case=task.case, input=task.path, ok=False, seconds=time.monotonic() - start, error=error)


def _only_fresh_outputs(task: CaseTask) -> bool:
    """Some of the case's outputs exist, and all that exist were written since the batch started."""
    existing = [p for p in task.outputs if p.exists()]
    try:
        return bool(existing) and all(p.stat().st_mtime >= task.since for p in existing)
    except OSError:
        return False


def failed_result(task: CaseTask, error: str, seconds: float = 0.0) -> CaseResult:
    """A failed result for a case whose worker could not return one (it died, or the cluster gave up on it)."""
    return CaseResult(case=task.case, input=task.path, ok=False, seconds=seconds, error=error)


def _input_mtime(path: Path) -> float:
    """Modification time of an input; of its newest file for a folder (a DICOM series)."""
    if path.is_dir():
        return max((f.stat().st_mtime for f in path.rglob("*") if f.is_file()), default=path.stat().st_mtime)
    return path.stat().st_mtime


def resumed_result(task: CaseTask, since: float = 0.0) -> Optional[ResumedResult]:
    """The case's earlier result when all its outputs exist and none is older than its input (or ``since``).

    The disc rows come back from the case's JSON, so the summary is the one the run that made them would write.
    """
    try:
        oldest_allowed = max(_input_mtime(task.path), since)
        if not task.outputs or not all(p.is_file() and p.stat().st_mtime >= oldest_allowed for p in task.outputs):
            return None
        measurements = json.loads(CaseOutputs.for_case(task.outdir, task.case).json.read_text(encoding="utf-8"))
        rows, review = measurements["discs"], review_reasons(measurements)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # unreadable or not ours: run the case again
    return ResumedResult(
        case=task.case,
        input=task.path,
        ok=True,
        seconds=0.0,
        outputs=CaseOutputs.for_case(task.outdir, task.case),
        disc_rows=list(rows),
        review=review,
    )
