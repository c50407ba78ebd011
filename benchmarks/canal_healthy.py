"""Canal AP on the real images of ../shared/data, whose subjects are healthy volunteers: how often is a level graded
stenotic? A specificity check on real scans (the phantoms' truth is known, but their anatomy is simpler).

The images (all with ``--folds 1``, else the held-out ones of ``--fold``, to score that fold's model; every
``--step``-th of them) are segmented and measured as `disccore run` does; the lumbar levels' dural sac AP
diameters and stenosis grades are collected. Few of these volunteers should have a stenotic level; a level graded here
is most often a sac outline that left out the nerve roots lying behind the CSF (see models/MODEL_CARD.md).
(The wall-cut experiment of commit 8d1aeeb added ``--cut-walls`` here.)

Each level is also measured on the training label of the sac (training.derive.derive_canal, in place of the model's
sac, with the model's discs and bodies): ``label_ap``. On held-out images that compares the model with the rule it
learned from, which was checked on pictures (benchmarks/canal_pictures.py --derived).

    PYTHONPATH=DiscCore python benchmarks/canal_healthy.py --data ../shared/data --folds 1 [--step 2]
    PYTHONPATH=DiscCore python benchmarks/canal_healthy.py --data ../shared/data --fold 0 --weights cv0/fold0.pt
"""

from __future__ import annotations

import argparse

import numpy as np
from heldout import add_heldout_arguments, add_sac_label_argument, held_out_cases, score_cases
from model_choice import add_model_arguments, segmenter

from disccore import anatomy
from disccore.image import SpatialImage
from disccore.measure import measure_segmentation
from disccore.segment.canonical import reorientation_for
from disccore.training.data import CANAL, prepare_case, read_case

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


def with_training_sac(labels, case, sac_label: str) -> SpatialImage:
    """The segmentation with its sac replaced by the sac's training label (derived from the image by the rule
    ``sac_label``)."""
    reo = reorientation_for(labels.geometry.direction)
    canonical = reo.to_canonical(labels.array).copy()
    canal = anatomy.canal().label
    canonical[canonical == canal] = 0
    canonical[(prepare_case(case, sac_label=sac_label).target == CANAL) & (canonical == 0)] = canal
    return SpatialImage(np.ascontiguousarray(reo.from_canonical(canonical)), labels.geometry)


def score_case(segment, case, sac_label: str) -> list[dict]:
    labels = segment(read_case(case)[0])
    rows = level_rows(labels, case.name)
    label_ap = {r["level"]: r["ap"] for r in level_rows(with_training_sac(labels, case, sac_label), case.name)}
    return [{**r, "label_ap": label_ap.get(r["level"])} for r in rows]


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
        **_against_labels(rows),
    }


def _against_labels(rows: list[dict]) -> dict:
    diff = np.array([r["ap"] - r["label_ap"] for r in rows if r.get("label_ap") is not None])
    if len(diff) == 0:
        return {}
    return {
        "levels_with_label_ap": len(diff),
        "minus_label_ap_median_mm": float(np.median(diff)),
        "minus_label_ap_abs_median_mm": float(np.median(np.abs(diff))),
        "minus_label_ap_abs_p95_mm": float(np.percentile(np.abs(diff), 95)),
    }


def _mm(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    ap.add_argument("--step", type=int, default=1, help="every n-th of those images (default: all)")
    add_sac_label_argument(ap)
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args)

    def show(rows):
        return " ".join(f"{r['level']} {r['ap']:.1f} ({_mm(r['label_ap'])})" for r in rows)

    cases = held_out_cases(args)[:: args.step]
    score_cases(cases, lambda case: score_case(segment, case, args.sac_label), show, summarise, args.output)


if __name__ == "__main__":
    main()
