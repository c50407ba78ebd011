"""``disccore batch INPUTS... -o OUTDIR``: run many cases, keep going past broken ones."""

from __future__ import annotations

import argparse
import sys

from .common import add_model_options, add_overwrite, add_quiet, progress_for

EXAMPLES = """examples:
  disccore batch study/*.nii.gz -o results/
  disccore batch study/ other/case7.nrrd -o results/ --device cuda

writes per case the outputs of 'disccore run', plus summary.csv (one row per case: status, error, main numbers
per level) and all_levels.csv (one row per case and disc level). Exit status 1 if any case failed.
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
    p.set_defaults(func=run)


def add_batch_arguments(p) -> None:
    """The batch options, shared with Slicer's batch.py so both take the same command line."""
    p.add_argument("inputs", nargs="*", help="image files, folders of images, or DICOM folders")
    p.add_argument("--input", dest="more_inputs", action="append", default=[], help="an image file or folder (may repeat)")
    p.add_argument("-o", "--output", required=True, help="output folder (created if its parent exists)")
    add_model_options(p)
    add_overwrite(p)
    add_quiet(p)


def run(args) -> int:
    from ..errors import InputError
    from ..pipeline import run_batch

    inputs = list(args.inputs) + list(args.more_inputs)
    if not inputs:
        raise InputError("no inputs given; name image files or folders")
    results = run_batch(
        inputs, args.output, model=args.model, device=args.device, overwrite=args.overwrite,
        progress=progress_for(args, "batch "),
    )
    failed = [r for r in results if not r.ok]
    for r in results:
        status = "ok    " if r.ok else "FAILED"
        print(f"{status} {r.case} ({r.seconds:.1f} s){': ' + r.error if r.error else ''}")
    print(f"{len(results) - len(failed)} of {len(results)} cases succeeded; summary in {args.output}/summary.csv")
    if failed:
        print(f"disccore batch: {len(failed)} case(s) failed", file=sys.stderr)
        return 1
    return 0
