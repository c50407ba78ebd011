"""``disccore segment IMAGE -o OUT``: run the model and write the label map."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import add_model_options, add_overwrite, add_quiet, add_series_option, progress_for, series_choice

SEGMENTATION_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii")

EXAMPLES = """examples:
  disccore segment sagittal_t2.nii.gz -o sagittal_t2.seg.nrrd   # also writes sagittal_t2.qc.json (quality report)
  disccore segment sagittal_t2.nii.gz -o labels.nii.gz          # also writes labels.json (value -> name)
  disccore segment /data/dicom/patient1 --series 2 -o p1.seg.nrrd --device cpu
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "segment",
        help="segment vertebral bodies, discs and the spinal canal",
        description="Segment the lumbar vertebral bodies, intervertebral discs and spinal canal in a 3D MRI "
        "(NIfTI, NRRD, MHA or a DICOM folder). The output lies exactly on the input's voxel grid.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", help="image file or DICOM folder")
    p.add_argument(
        "-o", "--output", required=True, help="output segmentation: .seg.nrrd, or .nii.gz/.nii (+ .json sidecar)"
    )
    add_model_options(p)
    add_series_option(p)
    add_overwrite(p)
    add_quiet(p)
    p.set_defaults(func=run)


def quality_path(output: Path) -> Path:
    """The quality report written beside a segmentation: 'X.seg.nrrd' or 'X.nii.gz' -> 'X.qc.json'."""
    from ..io._formats import strip_suffix

    stem = strip_suffix(output)
    return stem.with_name(stem.name + ".qc.json")


def segmentation_outputs(output: Path) -> list:
    """The files ``disccore segment -o OUTPUT`` writes: the segmentation, its label sidecar (not for a .seg.nrrd,
    whose header names the labels) and the quality report."""
    from ..io import sidecar_path

    sidecar = [] if output.name.lower().endswith(".seg.nrrd") else [sidecar_path(output)]
    return [output] + sidecar + [quality_path(output)]


def check_segmentation_output(output: Path, overwrite: bool, image: Path) -> None:
    """Fail fast on a bad output path (suffix, folder, existing file or sidecar, the input itself)."""
    from ..errors import OutputError
    from ..outputs import check_output_path, refuse_inputs_as_outputs

    if not output.name.lower().endswith(SEGMENTATION_SUFFIXES):
        raise OutputError(f"'{output}': the output must end in .seg.nrrd, .nii.gz or .nii")
    outputs = segmentation_outputs(output)
    refuse_inputs_as_outputs(outputs, [image])
    for path in outputs:
        check_output_path(path, overwrite)


def run(args) -> int:
    from .. import anatomy
    from ..io import read_image, write_segmentation
    from ..outputs import staged_outputs
    from ..quality.review import review_line, review_reasons
    from ..segment import segment_image_with_quality
    from ..segment.checks import check_something_found

    output = Path(args.output)
    check_segmentation_output(output, args.overwrite, Path(args.image))
    image = read_image(args.image, series=series_choice(args))
    progress = progress_for(args, "segment ")
    labels, quality = segment_image_with_quality(image, model=args.model, device=args.device, progress=progress)
    check_something_found(labels)
    written = segmentation_outputs(output)
    report = quality.report()
    with staged_outputs(written, args.overwrite) as staged:  # the segmentation and its report appear together
        write_segmentation(labels, staged[output], anatomy.default_label_names())
        staged[quality_path(output)].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for path in written:
        print(path)
    reasons = review_reasons({"qc": report})
    if reasons:
        print(f"disccore segment: warning: {review_line(output.name, reasons)}", file=sys.stderr)
    return 0
