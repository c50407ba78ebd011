#!/usr/bin/env python
"""Segment and measure many lumbar spine MRI cases through 3D Slicer's MRML layer, headless.

    Slicer --no-main-window --python-script batch.py -- --input FILES_OR_FOLDER --output DIR
    python batch.py --input FILES_OR_FOLDER --output DIR        (any Python with slicer-core installed)

Each case goes the way it goes in the DiscSegmenter / DiscMeasure modules: the image becomes a volume
node, the model runs out of process (``python -m disccore segment``; set DISCCORE_PYTHON to run it in
another environment), the result becomes a segmentation node, which is measured into table nodes.
Written into the output folder per case: CASE.seg.nrrd, CASE_discs.csv, CASE_vertebrae.csv; for the
batch: summary.csv (one row per case: status, error, main numbers per level) and all_levels.csv.
A broken case is reported and the batch goes on; the exit status is 1 if any case failed.
The options are those of ``disccore batch``.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
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
    from disccore.errors import DiscCoreError, InputError
    from disccore.outputs import check_output_path, write_text_atomic
    from disccore.pipeline import CaseResult, case_name, find_inputs, levels_csv_text, prepare_output_dir, summary_csv_text
    from disccore.progress import sub_progress
    from discmrml.headless import get_scene
    from discmrml.pipeline import run_case

    inputs = list(args.inputs) + list(args.more_inputs)
    if not inputs:
        raise InputError("no inputs given; name image files or folders with --input")
    paths = find_inputs(inputs)  # before creating the output folder: a typo must not leave folders behind
    if not paths:
        raise InputError("no images found in the given inputs")
    outdir = prepare_output_dir(Path(args.output))
    summary_path, levels_path = outdir / "summary.csv", outdir / "all_levels.csv"
    for p in (summary_path, levels_path):
        check_output_path(p, args.overwrite)

    progress = None
    if not args.quiet:
        from disccore.cli.common import ProgressBar

        progress = ProgressBar("batch ")
    scene = get_scene()
    results = []
    n = len(paths)
    for idx, path in enumerate(paths):
        case = case_name(path)
        start = time.monotonic()
        scene.Clear(False)  # each case starts from an empty scene
        try:
            res = run_case(path, outdir, model=args.model, device=args.device, overwrite=args.overwrite, case=case,
                           scene=scene, progress=sub_progress(progress, idx / n, (idx + 1) / n))
        except DiscCoreError as exc:
            res = CaseResult(case, path, False, time.monotonic() - start, error=str(exc))
        except Exception as exc:  # a bug on one case must not lose the others' results
            traceback.print_exc()
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            res = CaseResult(case, path, False, time.monotonic() - start, error=f"internal error: {detail}")
        results.append(res)
        status = "ok    " if res.ok else "FAILED"
        print(f"{status} {res.case} ({res.seconds:.1f} s){': ' + res.error if res.error else ''}", flush=True)
    scene.Clear(False)
    write_text_atomic(summary_path, summary_csv_text(results), overwrite=args.overwrite)
    write_text_atomic(levels_path, levels_csv_text(results), overwrite=args.overwrite)
    failed = [r for r in results if not r.ok]
    print(f"{n - len(failed)} of {n} cases succeeded; summary in {summary_path}")
    if failed:
        print(f"batch.py: {len(failed)} case(s) failed", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(script_arguments(argv))
    from disccore.errors import DiscCoreError

    try:
        import slicer  # noqa: F401  (3D Slicer, or slicer-core from PyPI)
        import vtk  # noqa: F401
    except ImportError:
        print("batch.py: error: needs 3D Slicer (Slicer --no-main-window --python-script batch.py -- ...) or the "
              "slicer-core package (pip install slicer-core); for plain Python use 'disccore batch'", file=sys.stderr)
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
