"""``disccore run IMAGE -o OUTDIR``: segment, measure and draw one case."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_overwrite, add_quiet, progress_for

EXAMPLES = """examples:
  disccore run sagittal_t2.nii.gz -o results/
  disccore run /data/dicom/patient1 --series 2 -o results/p1 --device cuda

writes into OUTDIR: CASE.seg.nrrd, CASE_discs.csv, CASE_vertebrae.csv, CASE_measurements.json, CASE_report.png
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="segment + measure + PNG report for one image",
        description="Segment one lumbar MRI, measure disc height, disc volume and canal AP diameter per level, and "
        "draw a PNG report. OUTDIR is created if its parent folder exists.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", help="image file or DICOM folder")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--model", default=None, help="model name from 'disccore models'")
    p.add_argument("--series", default=None, help="DICOM folder with several series: the series number (from 1) or UID")
    add_overwrite(p)
    add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..pipeline import prepare_output_dir, run_case

    image = Path(args.image)
    if not image.exists():  # before creating the output folder
        from ..errors import InputError

        raise InputError(f"'{image}' does not exist")
    outdir = prepare_output_dir(Path(args.output))
    series = int(args.series) if args.series and args.series.isdigit() else args.series
    result = run_case(
        image, outdir, model=args.model, device=args.device, overwrite=args.overwrite, series=series,
        progress=progress_for(args, "run "),
    )
    for path in result.outputs.all():
        print(path)
    return 0
