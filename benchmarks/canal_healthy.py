"""Canal AP on the real images of ../shared/data, whose subjects are healthy volunteers: how often is a level graded
stenotic? A specificity check on real scans (the phantoms' truth is known, but their anatomy is simpler).

Every image (or every ``--step``-th) is segmented and measured as `disccore run` does; the lumbar levels' dural sac AP
diameters and stenosis grades are collected. With ``--cut-walls anterior`` or ``both``, the same network outline is
also measured after the experimental wall cut of :mod:`disccore.segment.canal_edges` (the canal's walls cut back to
the first voxel at least 0.86 of the local CSF level), so both are compared on the same images.

    PYTHONPATH=DiscCore python benchmarks/canal_healthy.py --data ../shared/data [--step 2] [--cut-walls both]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from model_choice import add_model_arguments, segmenter

from disccore import anatomy
from disccore.image import SpatialImage
from disccore.measure import measure_segmentation
from disccore.segment.canonical import reorientation_for
from disccore.training.data import list_cases, read_case

LUMBAR_DISCS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
WALLS = {"anterior": ("anterior",), "both": ("anterior", "posterior")}


def level_rows(labels: SpatialImage, variant: str, case: str) -> list[dict]:
    result = measure_segmentation(labels, anatomy.default_label_names())
    return [
        {
            "case": case,
            "variant": variant,
            "level": d["level"],
            "ap": d["canal_ap_diameter_mm"],
            "area": d.get("canal_area_mm2"),
            "graded": bool(d.get("stenosis")),
        }
        for d in result.discs
        if d["level"] in LUMBAR_DISCS and d.get("canal_ap_diameter_mm") is not None
    ]


def with_walls_cut(labels: SpatialImage, image, walls) -> SpatialImage:
    from disccore.segment import canal_edges

    reo = reorientation_for(image.geometry.direction)
    canonical = np.ascontiguousarray(reo.to_canonical(labels.array)).copy()
    canal_edges.refine_canal_edges(
        canonical, reo.to_canonical(image.array), reo.spacing(image.geometry.spacing), anatomy.canal().label, walls
    )
    return SpatialImage(np.ascontiguousarray(reo.from_canonical(canonical)), labels.geometry)


def summarise(rows: list[dict]) -> dict:
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        ap = np.array([r["ap"] for r in mine])
        out[variant] = {
            "levels": len(mine),
            "ap_median_mm": float(np.median(ap)),
            "ap_p5_mm": float(np.percentile(ap, 5)),
            "ap_p95_mm": float(np.percentile(ap, 95)),
            "graded_stenotic": int(sum(r["graded"] for r in mine)),
            "graded_share": float(np.mean([r["graded"] for r in mine])),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--step", type=int, default=1, help="every n-th image (default: all)")
    ap.add_argument("--cut-walls", choices=sorted(WALLS), help="also measure the outline with these walls cut")
    ap.add_argument("-o", "--output", help="write every row and the summary as JSON")
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args)
    rows = []
    for case in list_cases(args.data)[:: args.step]:
        image, _ = read_case(case)
        labels = segment(image)
        case_rows = level_rows(labels, "network", case.name)
        if args.cut_walls:
            case_rows += level_rows(with_walls_cut(labels, image, WALLS[args.cut_walls]), args.cut_walls, case.name)
        rows += case_rows
        shown = " ".join(f"{r['variant'][:3]} {r['level']} {r['ap']:.1f}" for r in case_rows)
        print(f"{case.name}: {shown}", flush=True)
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
