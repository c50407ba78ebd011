"""Per-level distribution of disc heights over the 49 real native masks (../shared/data/ivd_native_masks).

Prints, per level, median [IQR] (min-max) over the cases of the mean (central 80 %), anterior, middle and
posterior disc heights, and the worst disc-volume disagreement with the published volumes. The masks
have no vertebral bodies: each disc's own thinnest principal direction is its axis.

    PYTHONPATH=DiscCore python benchmarks/real_mask_heights.py [DATA_DIR]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "DiscCore"))

from disccore.image import from_sitk  # noqa: E402
from disccore.measure import measure_segmentation  # noqa: E402

NAMES = {51: "L5-S1", 102: "L4-L5", 153: "L3-L4", 204: "L2-L3", 255: "L1-L2"}
CASE_NAMES = {"ivd-005": {4: "L5-S1", 7: "L4-L5", 11: "L3-L4", 14: "L2-L3", 18: "L1-L2"}}
LEVELS = ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
KEYS = [
    ("disc_height_mm", "mean"),
    ("disc_height_anterior_mm", "anterior"),
    ("disc_height_middle_mm", "middle"),
    ("disc_height_posterior_mm", "posterior"),
]


def main(argv=None) -> int:
    import SimpleITK as sitk

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else ROOT.parent / "shared" / "data" / "ivd_native_masks"
    published = {r["case"]: r for r in csv.DictReader((folder / "volumes_cm3.csv").open())}
    values = {lv: {k: [] for k, _ in KEYS} for lv in LEVELS}
    worst = (0.0, "")
    files = sorted(folder.glob("ivd-*_discs_native.nii.gz"))
    for f in files:
        case = f.name[:7]
        result = measure_segmentation(from_sitk(sitk.ReadImage(str(f))), CASE_NAMES.get(case, NAMES))
        for row in result.discs:
            err = abs(row["disc_volume_mm3"] / (1000.0 * float(published[case][row["level"]])) - 1.0)
            if err >= worst[0]:
                worst = (err, f"{case} {row['level']}")
            for k, _ in KEYS:
                if row[k] is not None:
                    values[row["level"]][k].append(row[k])
    print(f"{len(files)} cases; disc volume vs published: max relative error {worst[0] * 100:.4f} % ({worst[1]})")
    print("heights in mm: median [IQR] (min-max) over cases")
    print(f"{'level':7} " + " ".join(f"{name:>24}" for _, name in KEYS))
    for lv in LEVELS:
        cells = []
        for k, _ in KEYS:
            v = np.array(values[lv][k])
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            cells.append(f"{med:5.1f} [{q1:4.1f}-{q3:4.1f}] ({v.min():4.1f}-{v.max():4.1f})")
        print(f"{lv:7} " + " ".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
