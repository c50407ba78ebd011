"""Canal AP on the real images of ../shared/data, whose subjects are healthy volunteers: how often is a level graded
stenotic? A specificity check on real scans (the phantoms' truth is known, but their anatomy is simpler).

Every image (or every ``--step``-th) is segmented and measured as `disccore run` does; the lumbar levels' dural sac AP
diameters and stenosis grades are collected. Few of these volunteers should have a stenotic level; a level graded here
is most often a sac outline that left out the nerve roots lying behind the CSF (see models/MODEL_CARD.md).
(The wall-cut experiment of commit 8d1aeeb added ``--cut-walls`` here.)

    PYTHONPATH=DiscCore python benchmarks/canal_healthy.py --data ../shared/data [--step 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from model_choice import add_model_arguments, segmenter

from disccore import anatomy
from disccore.measure import measure_segmentation
from disccore.training.data import list_cases, read_case

LUMBAR_DISCS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


def level_rows(labels, case: str) -> list[dict]:
    """The lumbar disc levels' canal AP, area and stenosis grade of one segmented image."""
    result = measure_segmentation(labels, anatomy.default_label_names())
    return [
        {
            "case": case,
            "level": d["level"],
            "ap": d["canal_ap_diameter_mm"],
            "area": d.get("canal_area_mm2"),
            "graded": bool(d.get("stenosis")),
        }
        for d in result.discs
        if d["level"] in LUMBAR_DISCS and d.get("canal_ap_diameter_mm") is not None
    ]


def summarise(rows: list[dict]) -> dict:
    ap = np.array([r["ap"] for r in rows])
    return {
        "levels": len(rows),
        "ap_median_mm": float(np.median(ap)),
        "ap_p5_mm": float(np.percentile(ap, 5)),
        "ap_p95_mm": float(np.percentile(ap, 95)),
        "graded_stenotic": int(sum(r["graded"] for r in rows)),
        "graded_share": float(np.mean([r["graded"] for r in rows])),
        "graded_levels": [f"{r['case']} {r['level']} {r['ap']:.1f} mm" for r in rows if r["graded"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--step", type=int, default=1, help="every n-th image (default: all)")
    ap.add_argument("-o", "--output", help="write every row and the summary as JSON")
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args)
    rows = []
    for case in list_cases(args.data)[:: args.step]:
        labels = segment(read_case(case)[0])
        case_rows = level_rows(labels, case.name)
        rows += case_rows
        shown = " ".join(f"{r['level']} {r['ap']:.1f}" for r in case_rows)
        print(f"{case.name}: {shown}", flush=True)
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
