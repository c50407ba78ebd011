"""``disccore batch INPUTS... -o OUTDIR``: run many cases, keep going past broken ones."""

from __future__ import annotations

import argparse
import sys

from .common import add_model_options, add_overwrite, add_quiet, progress_for

EXAMPLES = """examples:
  disccore batch study/*.nii.gz -o results/
  disccore batch study/ other/case7.nrrd -o results/ --device cuda
  disccore batch study/ -o results/ --workers 2          # two worker processes, the cores shared between them
  disccore batch study/ -o results/ --resume             # after an interruption: only the cases not done
  disccore batch /shared/study/ -o /shared/results/ --dask tcp://scheduler:8786

writes per case the outputs of 'disccore run', plus summary.csv (one row per case: status, error, needs_review,
main numbers per level) and all_levels.csv (one row per case and disc level), both updated as each case finishes.
Exit status 1 if any case failed, 130 if stopped (the summary then lists the cases that finished).
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "batch",
        help="segment + measure many images; summary table; non-zero exit if any case failed",
        description="Run 'disccore run' on every input (files, or folders of images / DICOM series folders). A broken "
        "case is reported and the batch goes on.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_batch_arguments(p)
    add_executor_arguments(p)
    p.set_defaults(func=run)


def add_batch_arguments(p) -> None:
    """The batch options, shared with Slicer's batch.py so both take the same command line."""
    p.add_argument("inputs", nargs="*", help="image files, folders of images, or DICOM folders")
    p.add_argument(
        "--input", dest="more_inputs", action="append", default=[], help="an image file or folder (may repeat)"
    )
    p.add_argument("-o", "--output", required=True, help="output folder (created if its parent exists)")
    add_model_options(p)
    add_overwrite(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip cases whose outputs are all there and newer than the input; run the others again, "
        "replacing what an interrupted run left of them",
    )
    add_quiet(p)


def add_executor_arguments(p) -> None:
    """Where the cases run (``disccore batch`` only: Slicer's batch.py runs them in its own scene)."""
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N cases at a time in worker processes, the CPU cores shared between them (default 1)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run each case as a task on the Dask cluster whose scheduler is at ADDRESS "
        "(inputs and outputs on a file system all workers share; needs disccore[cluster])",
    )


def case_line(result) -> str:
    """One line per finished case, as both batch commands print it."""
    from ..batch import ResumedResult

    if isinstance(result, ResumedResult):
        return f"done   {result.case} (its outputs were already complete)"
    status = "ok    " if result.ok else "FAILED"
    return f"{status} {result.case} ({result.seconds:.1f} s){': ' + result.error if result.error else ''}"


def print_case(result, prog: str) -> None:
    """A finished case's line, and a warning line on stderr when it needs review (its quality flags)."""
    from ..quality.review import review_line

    print(case_line(result), flush=True)
    if result.ok and result.review:
        print(f"{prog}: warning: {review_line(result.case, result.review)}", file=sys.stderr, flush=True)


def report_results(results, summary_path, prog: str) -> int:
    """The closing lines; exit status 1 if any case failed."""
    failed = [r for r in results if not r.ok]
    review = sum(1 for r in results if r.ok and r.review)
    print(
        f"{len(results) - len(failed)} of {len(results)} cases succeeded ({review} need review); "
        f"summary in {summary_path}"
    )
    if failed:
        print(f"{prog}: {len(failed)} case(s) failed", file=sys.stderr)
        return 1
    return 0


def batch_options(args, hint: str = "", prog: str = "disccore batch") -> dict:
    """The arguments of disccore.batch.run_batch that the shared command line gives (see add_batch_arguments),
    each finished case printed on one line (and a warning line when it needs review); shared with Slicer's
    batch.py."""
    from ..errors import InputError

    inputs = list(args.inputs) + list(args.more_inputs)
    if not inputs:
        raise InputError("no inputs given; name image files or folders" + hint)
    return dict(
        inputs=inputs,
        outdir=args.output,
        model=args.model,
        device=args.device,
        overwrite=args.overwrite,
        resume=args.resume,
        progress=progress_for(args, "batch "),
        on_case=lambda result: print_case(result, prog),
    )


def run(args) -> int:
    from pathlib import Path

    from ..batch import SUMMARY_NAME, run_batch

    results = run_batch(**batch_options(args), workers=args.workers, dask_address=args.dask)
    return report_results(results, Path(args.output) / SUMMARY_NAME, "disccore batch")
