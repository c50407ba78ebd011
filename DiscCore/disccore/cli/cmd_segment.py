"""``disccore segment IMAGE -o OUT``: run the model and write the label map."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_model_options, add_overwrite, add_quiet, add_series_option, progress_for, series_choice

SEGMENTATION_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii")

EXAMPLES = """examples:
  disccore segment sagittal_t2.nii.gz -o sagittal_t2.seg.nrrd
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


def check_segmentation_output(output: Path, overwrite: bool, image: Path) -> None:
    """Fail fast on a bad output path (suffix, folder, existing file or sidecar, the input itself)."""
    from ..errors import OutputError
    from ..io import sidecar_path
    from ..outputs import check_output_path, refuse_inputs_as_outputs

    if not output.name.lower().endswith(SEGMENTATION_SUFFIXES):
        raise OutputError(f"'{output}': the output must end in .seg.nrrd, .nii.gz or .nii")
    outputs = [output] if output.name.lower().endswith(".seg.nrrd") else [output, sidecar_path(output)]
    refuse_inputs_as_outputs(outputs, [image])
    for path in outputs:
        check_output_path(path, overwrite)


def run(args) -> int:
    from .. import anatomy
    from ..io import read_image, write_segmentation
    from ..segment import segment_image
    from ..segment.checks import check_something_found

    output = Path(args.output)
    check_segmentation_output(output, args.overwrite, Path(args.image))
    image = read_image(args.image, series=series_choice(args))
    progress = progress_for(args, "segment ")
    labels = segment_image(image, model=args.model, device=args.device, progress=progress)
    check_something_found(labels)
    written = write_segmentation(labels, output, anatomy.default_label_names(), overwrite=args.overwrite)
    for path in written:
        print(path)
    return 0
