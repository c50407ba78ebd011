"""Pictures of the model's dural sac on real images: the mid-sagittal slice and, for each lumbar disc, the section in
the disc plane (perpendicular to the local spine axis through the disc centre, where the canal is measured), with the
sac's outline and the measured AP line. For looking at, not scoring: the images are the users' (or ../shared/data's)
and stay out of the repository.

    PYTHONPATH=DiscCore python benchmarks/canal_pictures.py ../shared/data/ivd/ivd-011_t2.nii.gz ... -o pictures/

With ``--derived DATA`` (the images being training images of DATA), the sac drawn and measured is the training label
(training.derive.derive_canal) in place of the model's, to check the label rule on pictures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from canal_healthy import LUMBAR_DISCS, with_training_sac  # noqa: E402
from heldout import add_sac_label_argument  # noqa: E402
from model_choice import add_model_arguments, segmenter  # noqa: E402
from scipy import ndimage  # noqa: E402

from disccore import anatomy  # noqa: E402
from disccore.image import lps_to_ras  # noqa: E402
from disccore.io import read_image  # noqa: E402
from disccore.measure import measure_segmentation  # noqa: E402
from disccore.segment.canonical import reorientation_for  # noqa: E402
from disccore.training.data import list_cases  # noqa: E402

LATERAL_HALF_MM = 30.0  # the disc-plane panel spans +-this left-right of the disc centre
AP_RANGE_MM = (-25.0, 45.0)  # and this much along AP (the sac lies 15-40 mm behind the disc centre)
SECTION_STEP_MM = 0.25


def _line(result, level: str, measurement: str):
    """(start, end) LPS of a measured line, or None."""
    for line in result.lines:
        if line.level == level and line.measurement == measurement:
            return lps_to_ras(np.asarray(line.start_ras, float)), lps_to_ras(np.asarray(line.end_ras, float))
    return None


def disc_plane(image, labels, result, level: str):
    """(image section, canal section, AP line in panel mm) in the plane of a disc level, or None when not measured.
    Panel axes: rows along the lateral direction (+-LATERAL_HALF_MM), columns along AP (AP_RANGE_MM, anterior left)."""
    height, ap_line = _line(result, level, "disc_height_mm"), _line(result, level, "canal_ap_diameter_mm")
    if height is None or ap_line is None:
        return None
    centre = 0.5 * (height[0] + height[1])
    axis = (height[1] - height[0]) / np.linalg.norm(height[1] - height[0])
    posterior = ap_line[1] - ap_line[0]
    posterior -= (posterior @ axis) * axis
    posterior /= np.linalg.norm(posterior)
    lateral = np.cross(axis, posterior)
    lat = np.arange(-LATERAL_HALF_MM, LATERAL_HALF_MM + 1e-9, SECTION_STEP_MM)
    rows, cols = np.meshgrid(lat, np.arange(*AP_RANGE_MM, SECTION_STEP_MM), indexing="ij")
    points = centre + rows[..., None] * lateral + cols[..., None] * posterior
    ijk = image.geometry.lps_to_index(points.reshape(-1, 3)).T
    section = ndimage.map_coordinates(image.array.astype(np.float32), ijk, order=1).reshape(rows.shape)
    canal = ndimage.map_coordinates((labels.array == anatomy.canal().label).astype(np.float32), ijk, order=1)
    ends = [((p - centre) @ posterior, (p - centre) @ lateral) for p in ap_line]
    return section, canal.reshape(rows.shape) >= 0.5, ends


def mid_sagittal(image, labels):
    """(image slice, canal slice, discs slice) of the sagittal slice holding the most canal, canonical layout."""
    reo = reorientation_for(image.geometry.direction)
    img, lab = reo.to_canonical(image.array), reo.to_canonical(labels.array)
    canal = lab == anatomy.canal().label
    s = int(np.argmax(canal.sum(axis=(1, 2))))
    discs = np.isin(lab[s], [d.label for d in anatomy.discs()])
    return img[s], canal[s], discs


def picture(path: Path, image, labels, result, out: Path) -> None:
    levels = [lv for lv in LUMBAR_DISCS if result.disc(lv) and result.disc(lv).get("canal_ap_diameter_mm")]
    fig, axes = plt.subplots(1, 1 + len(levels), figsize=(4 + 3 * len(levels), 5))
    axes = np.atleast_1d(axes)
    img, canal, discs = mid_sagittal(image, labels)
    axes[0].imshow(img, cmap="gray")
    axes[0].contour(canal, [0.5], colors="c", linewidths=0.7)
    axes[0].contour(discs, [0.5], colors="m", linewidths=0.5)
    axes[0].set_title(f"{path.name}\nmid-sagittal (sac cyan)", fontsize=8)
    for ax, level in zip(axes[1:], levels):
        plane = disc_plane(image, labels, result, level)
        ax.set_title(f"{level}: AP {result.disc(level)['canal_ap_diameter_mm']:.1f} mm", fontsize=8)
        if plane is None:
            continue
        section, canal_section, ends = plane
        top_down = (*AP_RANGE_MM, -LATERAL_HALF_MM, LATERAL_HALF_MM)  # row 0 at the top, as imshow draws it
        ax.imshow(section, cmap="gray", extent=(*AP_RANGE_MM, LATERAL_HALF_MM, -LATERAL_HALF_MM))
        ax.contour(canal_section, [0.5], colors="c", linewidths=0.7, extent=top_down)
        ax.plot([e[0] for e in ends], [e[1] for e in ends], "y-", linewidth=1.0)
        ax.set_xlabel("anterior <-> posterior (mm)", fontsize=7)
    for ax in axes:
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True, help="folder for the pictures (created)")
    ap.add_argument("--derived", type=Path, help="draw the sac's training label; the images belong to this data folder")
    add_sac_label_argument(ap)
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args)
    args.output.mkdir(parents=True, exist_ok=True)
    training_cases = {c.image_path.resolve(): c for c in list_cases(args.derived)} if args.derived else {}
    for path in args.images:
        image = read_image(path)
        labels = segment(image)
        if args.derived:
            labels = with_training_sac(labels, training_cases[path.resolve()], args.sac_label)
        result = measure_segmentation(labels, anatomy.default_label_names())
        out = args.output / (path.name.split(".")[0] + ("_canal_label.png" if args.derived else "_canal.png"))
        picture(path, image, labels, result, out)
        print(out, flush=True)


if __name__ == "__main__":
    main()
