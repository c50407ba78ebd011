"""How much neighbouring sagittal sections of well-segmented structures disagree as the slices get thicker: the basis
of ``section_spacing_growth`` in disccore.quality.thresholds.

Each real 1 mm image is resliced to thicker sagittal slices (the mean of k neighbouring slices, a thick slice's
partial-volume look) and segmented with the shipped model; prints, per slice spacing, the median disagreement
(1 - section agreement) of the bodies and of the discs, and the exponent of its growth with spacing (least squares
on the logarithms, all spacings).

    PYTHONPATH=DiscCore python benchmarks/section_agreement_spacing.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "DiscCore"))

from disccore import anatomy  # noqa: E402
from disccore.image import Geometry, SpatialImage  # noqa: E402
from disccore.io import read_image  # noqa: E402
from disccore.segment import segment_image_with_quality  # noqa: E402
from disccore.segment.masks import left_right_axis  # noqa: E402

CASES = ("vb3/vb3-001_img.nii.gz", "vb2/vb2-005_img.nii.gz", "ivd/ivd-011_t2.nii.gz")
SPACINGS_MM = (1, 2, 3, 4, 5)  # the data are 1 mm isotropic: k slices averaged give k mm
KINDS = {"vertebra": "bodies", "disc": "discs"}


def resliced(image: SpatialImage, k: int) -> SpatialImage:
    """``image`` with each run of ``k`` sagittal slices averaged into one, centred where the run was."""
    axis = left_right_axis(image.geometry)
    n = image.array.shape[axis] // k
    a = np.moveaxis(image.array.astype(np.float32), axis, 0)[: n * k]
    thick = np.moveaxis(a.reshape(n, k, *a.shape[1:]).mean(axis=1), 0, axis)
    g = image.geometry
    spacing = np.array(g.spacing, float)
    spacing[axis] *= k
    first = np.zeros(3)
    first[axis] = (k - 1) / 2.0
    return SpatialImage(thick, Geometry(thick.shape, spacing, g.index_to_lps(first), g.direction))


def disagreements(image: SpatialImage) -> dict:
    """kind -> the 1 - section agreement of each of its structures."""
    _, quality = segment_image_with_quality(image, device="cpu")
    out = {kind: [] for kind in KINDS}
    for name, structure in quality.structures.items():
        kind = anatomy.by_name(name).kind
        if kind in out and structure.slice_agreement is not None:
            out[kind].append(1.0 - structure.slice_agreement)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    medians = {kind: [] for kind in KINDS}
    for k in SPACINGS_MM:
        pooled = {kind: [] for kind in KINDS}
        for case in CASES:
            for kind, values in disagreements(resliced(read_image(args.data / case), k)).items():
                pooled[kind] += values
        line = []
        for kind, name in KINDS.items():
            medians[kind].append(float(np.median(pooled[kind])))
            line.append(f"{name} median {medians[kind][-1]:.3f} (max {max(pooled[kind]):.3f}, n={len(pooled[kind])})")
        print(f"{k} mm: " + "; ".join(line), flush=True)
    for kind, name in KINDS.items():
        slope = np.polyfit(np.log(SPACINGS_MM), np.log(medians[kind]), 1)[0]
        print(f"{name}: disagreement grows as spacing ** {slope:.2f}")


if __name__ == "__main__":
    main()
