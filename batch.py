#!/usr/bin/env python
"""Segment and measure many lumbar spine MRI cases through 3D Slicer's MRML layer, headless.

    Slicer --no-main-window --python-script batch.py -- --input FILES_OR_FOLDER --output DIR
    python batch.py --input FILES_OR_FOLDER --output DIR        (any Python with slicer-core installed)

Each case goes the way it goes in the DiscSegmenter / DiscMeasure modules: the image becomes a volume
node, the model runs out of process (``python -m disccore segment``; set DISCCORE_PYTHON to run it in
another environment), the result becomes a segmentation node, which is measured into table nodes.
Written into the output folder per case: the files of ``disccore run`` (CASE.seg.nrrd, CASE_discs.csv,
CASE_vertebrae.csv, CASE_measurements.json, CASE_report.png); for the batch: summary.csv (one row per case:
status, error, main numbers per level) and all_levels.csv, both updated as each case finishes.
A broken case is reported and the batch goes on; the exit status is 1 if any case failed.
The loop is disccore.batch.run_batch, the one ``disccore batch`` runs; the options are those of
``disccore batch`` except --workers/--dask (the cases run one by one in this process's scene).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE / "DiscCore" / "discmrml").is_dir() and str(HERE / "DiscCore") not in sys.path:
    sys.path.insert(0, str(HERE / "DiscCore"))  # a source checkout: use its packages

EXAMPLES = """examples:
  Slicer --no-main-window --python-script batch.py -- --input study/ --output results/
  python batch.py --input a.nii.gz --input b.nrrd --output results/ --device cuda
"""


def script_arguments(argv=None) -> list:
    """The script's own arguments: those after '--' when present (Slicer's command line), else all."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    return argv


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="batch.py",
        description="Segment + measure many images through the Slicer (MRML) path; summary table; non-zero exit "
        "if any case failed.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from disccore.cli.cmd_batch import add_batch_arguments

    add_batch_arguments(p)
    return p


def run(args) -> int:
    """The batch loop of ``disccore batch`` (disccore.batch.run_batch), each case run in this process's scene."""
    from disccore.batch import SUMMARY_NAME, run_batch
    from disccore.cli.cmd_batch import batch_options, report_results
    from discmrml.headless import get_scene
    from discmrml.pipeline import run_case

    options = batch_options(args, hint=" with --input", prog="batch.py")
    scene = get_scene()

    def case_in_scene(path, outdir, **case_options):
        scene.Clear(False)  # each case starts from an empty scene
        return run_case(path, outdir, scene=scene, **case_options)

    try:
        results = run_batch(**options, case_fn=case_in_scene)
    finally:
        scene.Clear(False)
    return report_results(results, Path(args.output) / SUMMARY_NAME, "batch.py")


def main(argv=None) -> int:
    args = build_parser().parse_args(script_arguments(argv))
    from disccore.errors import DiscCoreError

    try:
        import slicer  # noqa: F401  (3D Slicer, or slicer-core from PyPI)
        import vtk  # noqa: F401
    except ImportError:
        print(
            "batch.py: error: needs 3D Slicer (Slicer --no-main-window --python-script batch.py -- ...) or the "
            "slicer-core package (pip install slicer-core); for plain Python use 'disccore batch'",
            file=sys.stderr,
        )
        return 2

    try:
        return run(args)
    except DiscCoreError as exc:
        print(f"batch.py: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("batch.py: cancelled", file=sys.stderr)
        return 130


def _exit(code: int) -> None:
    try:
        import slicer

        if hasattr(slicer, "app") and hasattr(slicer.app, "applicationLogic"):
            slicer.util.exit(code)  # inside the Slicer application: leave it with this status
            return
    except ImportError:
        pass
    sys.exit(code)


if __name__ == "__main__":
    _exit(main())
