"""Does `needs_review` catch the levels that are wrong? The quality report scored on held-out real images.

Each held-out image of one cross-validation fold (or of one dataset, ``--dataset``, for a model trained without it) is
segmented as it is and bent by C curves of Cobb 20, 30 and 40 degrees, their apex turned about the spine's axis (as in
pathology_heldout.py, ``--apical-rotation``); every manually labelled level is *bad* when it is misnamed (the predicted
structure overlapping it most carries another name) or its Dice is below 0.8, *good* otherwise, and *flagged* when its
row's `qc` cell (its own flags and the case's, as in the CSVs) is not empty — for a level not found at all, when the
case has a flag. Prints the share of bad levels flagged and of good levels flagged with the model's thresholds (its
manifest entry's quality_thresholds, else disccore.quality.thresholds), the same over a grid of the per-level thresholds
(minimum confidence; the sections' largest disagreement at 1 mm for bodies and for discs), so they can be chosen on
these numbers; today's flags with a level also flagged where its expected Dice (the mask's Dice with the network's own
probabilities) is below each value of a grid; and over a grid of the curve's two thresholds (a level's coronal tilt, the
case's centre-line Cobb angle) with the other flags as today. Each share also for the good levels of the unbent images
alone. ``--rows`` scores the rows of an earlier run's ``-o`` file again (nothing segmented).

    PYTHONPATH=DiscCore python benchmarks/qc_calibration.py --data ../shared/data --weights cv0/fold0.pt --fold 0
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from heldout import add_heldout_arguments, held_out_cases
from model_choice import add_model_arguments, segmenter
from pathology_heldout import COBB_DEG, Held, add_rotation_argument, bent, level_scores

from disccore import anatomy
from disccore.measure import measure_segmentation
from disccore.models import resolve_model
from disccore.quality.thresholds import THRESHOLDS
from disccore.segment.masks import left_right_axis

POOR_DICE = 0.8
CONFIDENCE_GRID = (0.6, 0.75, 0.9)
BODY_DISAGREEMENT_GRID = (0.03, 0.04, 0.05, 0.06)  # max_body_section_disagreement
DISC_DISAGREEMENT_GRID = (0.07, 0.1, 0.13)  # max_disc_section_disagreement
EXPECTED_DICE_GRID = (0.85, 0.87, 0.89, 0.91)
PER_LEVEL_SIGNALS = ("confidence", "section")  # flags phrased with these words are the ones the grid replaces
TILT_GRID = (8, 10, 12, 14, 16, 20)  # max_coronal_tilt_deg
CENTRE_LINE_COBB_GRID = (35, 40, 45, 60)  # max_centre_line_cobb_deg
CURVE_FLAGS = ("lateral curve", "seen obliquely")  # the flags the curve grid replaces


def level_rows(held: Held, cobb: float, image, labels, segment) -> list[dict]:
    predicted, quality = segment(image)
    result = measure_segmentation(predicted, anatomy.default_label_names())
    result.add_segmentation_quality(quality)
    rows_by_level = {r["level"]: r for r in result.discs + result.vertebrae}
    out = []
    for level, (right, d) in level_scores(predicted, held.manual(labels)).items():
        row = rows_by_level.get(level)
        s = quality.structures.get(level)
        other = [f for f in result.qc_levels.get(level, []) if not any(w in f for w in PER_LEVEL_SIGNALS)]
        out.append(
            {
                "case": held.case.name,
                "cobb": cobb,
                "level": level,
                "bad": (not right) or d < POOR_DICE,
                "named_right": right,
                "dice": d,
                "qc": row["qc"] if row else None,
                "case_flags": list(result.qc_case),
                "other_level_flags": other,
                "confidence": None if s is None else s.confidence,
                "section_agreement": None if s is None else s.slice_agreement,
                "slice_spacing_mm": float(image.geometry.spacing[left_right_axis(image.geometry)]),
                "expected_dice": None if s is None else s.expected_dice,
                "volume_mm3": None if s is None else s.volume_mm3,
                "height_mm": None if s is None else s.height_mm,
                "coronal_tilt_deg": None if s is None else s.coronal_tilt_deg,
                "centre_line_cobb_deg": quality.centre_line_cobb_deg,
                "lateral_drift_mm": quality.lateral_drift_mm,
                "level_flags": list(result.qc_levels.get(level, [])),
            }
        )
    return out


def flagged(r: dict, confidence=None, disagreement=None, expected_dice=None, base=THRESHOLDS) -> bool:
    """Today's flag (confidence None; with ``expected_dice``, also where the level's is below it), or the one the
    per-level thresholds would give (``disagreement``: the bodies' and the discs' largest at 1 mm), the model's other
    thresholds (``base``) as they are."""
    if confidence is None:
        today = bool(r["qc"]) if r["qc"] is not None else bool(r["case_flags"])
        doubt = r["expected_dice"] is not None and expected_dice is not None and r["expected_dice"] < expected_dice
        return today or doubt
    if r["confidence"] is None:  # the level was not found
        return bool(r["case_flags"])
    body, disc = disagreement
    thresholds = replace(base, max_body_section_disagreement=body, max_disc_section_disagreement=disc)
    kind = anatomy.by_name(r["level"]).kind
    minimum = thresholds.min_section_agreement(kind, r.get("slice_spacing_mm", 1.0))  # older rows: the 1 mm data
    low = r["confidence"] < confidence or (r["section_agreement"] is not None and r["section_agreement"] < minimum)
    return low or bool(r["other_level_flags"]) or bool(r["case_flags"])


def flagged_on_curves(r: dict, tilt: float, cobb: float, base=THRESHOLDS) -> bool:
    """The row's flags other than the curve's, or those the curve thresholds would give: the level leaning more than
    ``tilt`` degrees, the case's centre-line Cobb angle above ``cobb`` or its drift above the model's limit
    (``base``)."""
    flags = r["qc"].split("; ") if r["qc"] is not None else r["case_flags"]
    others = [f for f in flags if f and not f.startswith(CURVE_FLAGS)]
    leaning = r.get("coronal_tilt_deg") is not None and abs(r["coronal_tilt_deg"]) > tilt
    curved = (r.get("centre_line_cobb_deg") or 0.0) > cobb
    drifting = (r.get("lateral_drift_mm") or 0.0) > base.max_lateral_drift_mm
    return bool(others) or leaning or curved or drifting


def rates(rows: list[dict], rule=flagged, **thresholds) -> dict:
    bad = [r for r in rows if r["bad"]]
    good = [r for r in rows if not r["bad"]]
    straight = [r for r in good if not r["cobb"]]
    share = lambda some: float(np.mean([rule(r, **thresholds) for r in some])) if some else None  # noqa: E731
    return {
        "bad": len(bad),
        "good": len(good),
        "bad_flagged": share(bad),
        "good_flagged": share(good),
        "good_flagged_unbent": share(straight),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    add_model_arguments(ap)
    add_rotation_argument(ap)
    ap.add_argument("--rows", type=Path, help="score the rows of this earlier -o file again instead of segmenting")
    args = ap.parse_args()
    rows = json.loads(args.rows.read_text())["rows"] if args.rows else segmented_rows(args)
    base = resolve_model(args.model).quality_thresholds  # what the grids vary from: the model's own (its manifest)
    summary = {"today": rates(rows)}
    for c in CONFIDENCE_GRID:
        for body in BODY_DISAGREEMENT_GRID:
            for disc in DISC_DISAGREEMENT_GRID:
                key = f"confidence<{c:g} or sections disagree >{body:g} (bodies) >{disc:g} (discs)"
                summary[key] = rates(rows, confidence=c, disagreement=(body, disc), base=base)
    for e in EXPECTED_DICE_GRID:
        summary[f"today or expected Dice<{e:g}"] = rates(rows, expected_dice=e)
    for tilt in TILT_GRID:
        for cobb in CENTRE_LINE_COBB_GRID:
            key = f"today's other flags, a level leaning >{tilt:g} deg or a centre-line Cobb angle >{cobb:g} deg"
            summary[key] = rates(rows, flagged_on_curves, tilt=tilt, cobb=cobb, base=base)
    print(json.dumps(summary, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))


def segmented_rows(args) -> list[dict]:
    segment = segmenter(args, with_quality=True)
    rows = []
    for case in held_out_cases(args):
        held = Held(case)
        for cobb in (0.0, *COBB_DEG):
            image, labels = bent(held, cobb, args.apical_rotation)
            rows += level_rows(held, cobb, image, labels, segment)
        mine = [r for r in rows if r["case"] == case.name]
        print(
            f"{case.name}: bad {[(r['level'], r['cobb']) for r in mine if r['bad']]}, "
            f"flagged {sum(flagged(r) for r in mine)}/{len(mine)}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
