"""``disccore run IMAGE -o OUTDIR``: segment, measure and draw one case."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_model_options, add_overwrite, add_quiet, add_series_option, progress_for, series_choice

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
    add_model_options(p)
    add_series_option(p)
    add_overwrite(p)
    add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..io.preflight import check_path_kind
    from ..pipeline import prepare_output_dir, run_case

    image = Path(args.image)
    if not image.exists():  # before creating the output folder
        from ..errors import InputError

        raise InputError(f"'{image}' does not exist")
    check_path_kind(image, "image")
    outdir = Path(args.output)
    created = not outdir.exists()
    prepare_output_dir(outdir)
    try:
        result = run_case(
            image,
            outdir,
            model=args.model,
            device=args.device,
            overwrite=args.overwrite,
            series=series_choice(args),
            progress=progress_for(args, "run "),
        )
    except BaseException:
        if created and not any(outdir.iterdir()):  # a failed run leaves no empty folder behind
            outdir.rmdir()
        raise
    for path in result.outputs.all():
        print(path)
    if result.review:
        from ..quality.review import review_line

        print(f"disccore run: warning: {review_line(result.case, result.review)}", file=sys.stderr)
    return 0
