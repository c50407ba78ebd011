"""Canal AP, canal area and the stenosis flag on phantoms no model was trained on (truth known by construction).

Each phantom gets a dural sac AP drawn from 4-16 mm at every disc (so about half of the levels are stenotic), T1 or T2
contrast, thick (4.4 mm) or thin (3 mm) slices, and in alternate groups of four a 1 mm dark dura around the sac (as
real T2 shows it; without it the bright epidural fat touches the CSF); seeds start at 5000, far from the training
phantoms' stream. The image goes through segmentation and measurement exactly as `disccore run` does, and each
measured disc level is compared with the phantom's truth: AP error (median and 95th percentile of |error|), area
error (%), and the stenosis flag (any grade of docs/measurements.md) against the flag the true AP and area give
(sensitivity, specificity).
The summary is given for all phantoms and for those with and without a dura. Also the bundled sample against its
truth file.

    PYTHONPATH=DiscCore python benchmarks/canal_phantoms.py [--phantoms 16] [--model DIR | --weights fold0.pt]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from model_choice import add_model_arguments, segmenter

from disccore import anatomy
from disccore.measure import measure_segmentation
from disccore.measure.stenosis import grade_stenosis
from disccore.phantom import make_lumbar_phantom

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"
FIRST_SEED = 5000
SAC_AP_RANGE_MM = (4.0, 16.0)
SLICES_MM = (4.4, 3.0)  # thick, thin
DURA_MM = 1.0


def has_dura(i: int) -> bool:
    return (i // 4) % 2 == 1


def phantom(i: int):
    rng = np.random.default_rng(FIRST_SEED + i)
    levels = ("L1", "L2", "L3", "L4", "L5", "S1")
    discs = [f"{a}-{b}" for a, b in zip(levels[:-1], levels[1:])]
    in_plane = float(rng.uniform(0.6, 0.9))
    return make_lumbar_phantom(
        seed=FIRST_SEED + i,
        contrast=("T2", "T1")[i % 2],
        spacing=(in_plane, in_plane, SLICES_MM[(i // 2) % 2]),
        levels=levels,
        lordosis_deg=float(rng.uniform(25, 50)),
        disc_heights=float(rng.uniform(7, 12)),
        canal_ap_mm={d: float(rng.uniform(*SAC_AP_RANGE_MM)) for d in discs},
        canal_body_ap_mm=float(rng.uniform(15, 19)),
        dura_mm=DURA_MM if has_dura(i) else 0.0,
        fov=(240.0, 240.0, 60.0),
    )


def compare(result, truth_discs: dict) -> list[dict]:
    """One row per truth disc: true and measured AP, area and stenosis flag (None where the level was not found)."""
    rows = []
    for level, t in truth_discs.items():
        m = result.disc(level) or {}
        true_flag = bool(grade_stenosis(t["canal_ap_diameter_mm"], t["canal_area_mm2"])[0])
        ap, area = m.get("canal_ap_diameter_mm"), m.get("canal_area_mm2")
        rows.append(
            {
                "level": level,
                "true_ap": t["canal_ap_diameter_mm"],
                "ap": ap,
                "true_area": t["canal_area_mm2"],
                "area": area,
                "true_flag": true_flag,
                "flag": None if ap is None and area is None else bool(m.get("stenosis")),
            }
        )
    return rows


def summarise(rows: list[dict]) -> dict:
    found = [r for r in rows if r["ap"] is not None]
    ap_err = np.abs([r["ap"] - r["true_ap"] for r in found])
    area = [r for r in found if r["area"] is not None]
    area_err = np.abs([100 * (r["area"] - r["true_area"]) / r["true_area"] for r in area])
    flagged = [r for r in rows if r["flag"] is not None]
    positives = [r for r in flagged if r["true_flag"]]
    negatives = [r for r in flagged if not r["true_flag"]]
    return {
        "levels": len(rows),
        "measured": len(found),
        "ap_abs_error_median_mm": float(np.median(ap_err)),
        "ap_abs_error_p95_mm": float(np.percentile(ap_err, 95)),
        "ap_signed_error_median_mm": float(np.median([r["ap"] - r["true_ap"] for r in found])),
        "area_abs_error_median_pct": float(np.median(area_err)),
        "area_abs_error_p95_pct": float(np.percentile(area_err, 95)),
        "sensitivity": sum(r["flag"] for r in positives) / max(1, len(positives)),
        "specificity": sum(not r["flag"] for r in negatives) / max(1, len(negatives)),
        "stenotic_levels": len(positives),
        "normal_levels": len(negatives),
    }


def sample_rows(segment) -> list[dict]:
    from disccore.io import read_image

    truth = json.loads((SAMPLE.parent / "synthetic_lumbar_t2_truth.json").read_text())
    labels = segment(read_image(SAMPLE))
    return compare(measure_segmentation(labels, anatomy.default_label_names()), truth["discs"])


def _mm(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--phantoms", type=int, default=16)
    ap.add_argument("-o", "--output", help="write every row and the summary as JSON")
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args)
    rows = []
    for i in range(args.phantoms):
        ph = phantom(i)
        result = measure_segmentation(segment(ph.image), anatomy.default_label_names())
        case_rows = compare(result, ph.truth["discs"])
        for r in case_rows:
            r["phantom"] = i
            r["dura"] = has_dura(i)
        rows += case_rows
        shown = " ".join(f"{r['level']} {r['true_ap']:.1f}->{_mm(r['ap'])}" for r in case_rows)
        kind = f"{('T2', 'T1')[i % 2]}, {ph.image.geometry.spacing.max():.1f} mm{', dura' if has_dura(i) else ''}"
        print(f"phantom {i} ({kind}): {shown}", flush=True)
    summary = summarise(rows)
    for name, dura in (("with_dura", True), ("without_dura", False)):
        subset = [r for r in rows if r["dura"] == dura]
        if subset:
            summary[name] = summarise(subset)
    print(json.dumps(summary, indent=1))
    sample = sample_rows(segment)
    for r in sample:
        flags = f"flag {r['flag']} (truth {r['true_flag']})"
        print(f"sample {r['level']}: AP truth {r['true_ap']:.1f} mm, measured {_mm(r['ap'])}; {flags}")
    if args.output:
        Path(args.output).write_text(json.dumps({"summary": summary, "rows": rows, "sample": sample}, indent=1))


if __name__ == "__main__":
    main()
