"""Error distribution of disccore.measure over random analytic phantoms (truth known by construction).

Random tilt (0-35 deg), wedge slope, disc height, canal AP (8-20 mm), oblique direction (0-10 deg),
sub-voxel phase and array order (LPS / RAS / native), for each voxel size. Prints max and 95th percentile
absolute errors per measurement.

    PYTHONPATH=DiscCore python benchmarks/phantom_accuracy.py [--cases 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "DiscCore"), str(ROOT / "Testing")]

from phantoms_analytic import random_stack  # noqa: E402

from disccore.measure import measure_segmentation  # noqa: E402

SPACINGS = {"0.5x0.5x4": (4.0, 0.5, 0.5), "0.43x0.43x4.4": (4.4, 0.43, 0.43), "1iso": (1.0, 1.0, 1.0)}
ABS = [
    "disc_height_mm",
    "disc_height_median_mm",
    "disc_height_anterior_mm",
    "disc_height_middle_mm",
    "disc_height_posterior_mm",
    "canal_ap_diameter_mm",
]
REL = ["disc_volume_mm3", "canal_area_mm2"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(
        f"{'voxels':15}"
        + "".join(f"{k.replace('disc_height_', 'h_').replace('_mm', ''):>14}" for k in ABS)
        + "".join(f"{k.replace('_mm3', '').replace('_mm2', ''):>16}" for k in REL)
        + "   (max / p95; mm, relative %)"
    )
    for key, sp in SPACINGS.items():
        errs = {k: [] for k in ABS + REL}
        for _ in range(args.cases):
            labels, names, truth = random_stack(rng, sp)
            row = measure_segmentation(labels, names).discs[0]
            t = truth["discs"][row["level"]]
            for k in ABS:
                errs[k].append(abs(row[k] - t[k]))
            for k in REL:
                errs[k].append(100 * abs(row[k] / t[k] - 1))
        cells = [f"{np.max(errs[k]):6.2f}/{np.percentile(errs[k], 95):5.2f}" for k in ABS]
        cells += [f"{np.max(errs[k]):7.2f}/{np.percentile(errs[k], 95):5.2f}%" for k in REL]
        print(
            f"{key:15}"
            + "".join(f"{c:>14}" for c in cells[: len(ABS)])
            + "".join(f"{c:>16}" for c in cells[len(ABS) :])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
