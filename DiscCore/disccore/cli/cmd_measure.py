"""``disccore measure``: a segmentation -> per-level disc/canal CSV (+ JSON with lines, + vertebra CSV)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError, NothingFoundError
from .common import add_overwrite, add_quiet, progress_for

EPILOG = """examples:
  disccore measure case01.seg.nrrd -o case01_discs.csv
  disccore measure case01_labels.nii.gz -o discs.csv --json discs.json --vertebrae-csv vertebrae.csv
  disccore measure native_mask.nii.gz --labels 51=L5-S1,102=L4-L5,153=L3-L4,204=L2-L3,255=L1-L2 -o discs.csv
  disccore measure labels.nii.gz --labels names.json --image t2.nii.gz -o discs.csv --json discs.json --overwrite

Label names come from the .seg.nrrd header, or the JSON sidecar beside a .nii.gz (labels.json with
{"124": "L5-S1", ...}), or --labels. Columns carry their units (mm, mm2, mm3); empty cells mean "not
measurable" and the notes column says why. Line endpoints in the JSON are RAS millimetres.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "measure",
        help="measure disc height, disc volume and canal AP diameter from a segmentation",
        description="Measure every disc level of a lumbar segmentation in physical space: disc volume, disc height "
        "(mean and median over the central 80 % of the footprint, anterior/middle/posterior), disc height index, "
        "canal AP diameter and area at the disc level with a stenosis flag; vertebral bodies optionally.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "segmentation", help="label map: .seg.nrrd, .nrrd, .nii/.nii.gz (with a JSON sidecar or --labels), .mha"
    )
    p.add_argument("-o", "--output", required=True, metavar="TABLE.csv", help="disc table to write (one row per level)")
    p.add_argument(
        "--labels", metavar="FILE.json|SPEC", help="label names: a JSON file {value: name} or '1=L5-S1,2=L4-L5,...'"
    )
    p.add_argument(
        "--image",
        metavar="IMAGE",
        help="the MRI the segmentation belongs to: checked to lie on the same physical grid and recorded in the JSON",
    )
    p.add_argument(
        "--json", metavar="OUT.json", help="also write everything (rows, measured lines in RAS mm, definitions) as JSON"
    )
    p.add_argument("--vertebrae-csv", metavar="V.csv", help="also write one row per vertebral body")
    add_overwrite(p)
    add_quiet(p)
    p.set_defaults(func=run)


def _outputs(args) -> list[Path]:
    from ..errors import OutputError
    from ..io import sidecar_path
    from ..outputs import check_output_path, refuse_inputs_as_outputs

    outs = [Path(args.output)] + [Path(x) for x in (args.json, args.vertebrae_csv) if x]
    resolved = [o.resolve() for o in outs]
    if len(set(resolved)) != len(resolved):
        raise OutputError("two outputs point to the same file; give each output its own name")
    labels_file = args.labels if args.labels and Path(args.labels).exists() else None
    refuse_inputs_as_outputs(outs, [args.segmentation, sidecar_path(args.segmentation), args.image, labels_file])
    for o in outs:
        check_output_path(o, args.overwrite)
    return outs


def _read(args):
    from ..io import read_labelmap

    return read_labelmap(args.segmentation, args.labels)


def _check_image(args, labels) -> dict:
    import numpy as np

    from ..io import read_image

    image = read_image(args.image)
    g, h = labels.geometry, image.geometry
    info = {"image": str(args.image), "image_same_grid": bool(g.same_grid(h, tol=1e-3))}
    if not info["image_same_grid"]:

        def box(geom):
            corners = np.array(
                [
                    [i, j, k]
                    for i in (0, geom.size[0] - 1)
                    for j in (0, geom.size[1] - 1)
                    for k in (0, geom.size[2] - 1)
                ],
                float,
            )
            pts = geom.index_to_lps(corners)
            return pts.min(axis=0), pts.max(axis=0)

        (a0, a1), (b0, b1) = box(g), box(h)
        if np.any(np.minimum(a1, b1) < np.maximum(a0, b0)):
            raise InputError(
                f"the segmentation and the image '{args.image}' do not overlap in space; they do not belong together"
            )
        print(
            f"disccore measure: warning: the image '{args.image}' has a different voxel grid from the segmentation "
            "(they overlap); measurements use the segmentation's grid",
            file=sys.stderr,
        )
    return info


def _write_all(args, result) -> list:
    """Write the tables and the JSON: all of them, or (after a failure or Ctrl-C) none."""
    from ..measure import write_disc_csv, write_json, write_vertebra_csv

    jobs = [(write_disc_csv, args.output), (write_vertebra_csv, args.vertebrae_csv), (write_json, args.json)]
    written = []
    try:
        for writer, path in jobs:
            if path:
                writer(result, path, overwrite=args.overwrite)
                written.append(path)
    except BaseException:
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise
    return written


def _warn_if_flagged(args, result) -> None:
    """One warning line when the geometric quality checks flagged the segmentation (the qc column says which)."""
    from ..quality.review import review_line, review_reasons

    reasons = review_reasons(result.to_dict())
    if reasons:
        name = Path(args.segmentation).name
        print(f"disccore measure: warning: {review_line(name, reasons)}", file=sys.stderr)


def run(args) -> int:
    from ..measure import measure_segmentation

    _outputs(args)  # fail fast, before reading or computing anything
    labels, names = _read(args)
    inputs = {"segmentation": str(args.segmentation)}
    if args.image:
        inputs.update(_check_image(args, labels))
    result = measure_segmentation(labels, names, progress=progress_for(args, "measure "))
    result.inputs.update(inputs)
    if not result.discs and not result.vertebrae:  # an empty table is no success
        raise NothingFoundError("the segmentation holds no disc and no vertebral body to measure")
    for w in result.warnings:
        print(f"disccore measure: warning: {w}", file=sys.stderr)
    written = _write_all(args, result)
    _warn_if_flagged(args, result)
    if not args.quiet:
        for row in result.discs:
            h = row["disc_height_mm"]
            ap = row["canal_ap_diameter_mm"]
            print(
                f"{row['level']:>7}  volume {row['disc_volume_mm3']:9.0f} mm3  height "
                f"{'   -' if h is None else f'{h:5.1f}'} mm  canal AP {'   -' if ap is None else f'{ap:5.1f}'} mm"
                f"{'  ' + row['stenosis'] + ' stenosis' if row['stenosis'] else ''}"
            )
        print("wrote " + ", ".join(str(w) for w in written))
    return 0
