"""Phantoms with a wedge fracture beside their healthy twins: are the levels still named right, is the fractured body
outlined, do its measured anterior and posterior heights follow the collapse, and what does the quality report say?

Each phantom (T1 and T2 alternating, 4 mm sagittal slices, T12 to S1) has one body of L1-L4 (in turn) with 25, 40 or
55 % of its anterior height lost (mild, moderate, severe after Genant; the spine above turns forward by the body's
wedge); its twin has the same seed and no fracture. Both go through `disccore segment`'s path and the measurement
engine. Prints per phantom the fractured body's Dice (the twin's same body beside it), its anterior / posterior
heights measured and true (and the twin's), its flags and whether every body was named right; then the summary:
heights over the phantoms named right (a misnamed body's heights are another body's), the twins' errors beside them
(the outline's own bias on healthy bodies).

    PYTHONPATH=DiscCore python benchmarks/fracture_phantoms.py [--phantoms 12] [--model DIR | --weights fold0.pt]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from model_choice import add_model_arguments, segmenter
from sacralised_phantoms import LEVELS, column_phantom

from disccore import anatomy
from disccore.measure import measure_segmentation
from disccore.training.train import dice

FIRST_SEED = 600
FRACTURED = ("L1", "L2", "L3", "L4")
ANTERIOR_LOSS = (0.25, 0.4, 0.55)  # mild, moderate, severe
NAMED_RIGHT_DICE = 0.5  # a body counts as named right when it overlaps its true namesake this much


def phantom(i: int, fractured: bool):
    """Phantom ``i``, fractured or its healthy twin: level and loss cycle through FRACTURED and ANTERIOR_LOSS."""
    fracture = {FRACTURED[i % len(FRACTURED)]: ANTERIOR_LOSS[(i // 2) % len(ANTERIOR_LOSS)]} if fractured else None
    return column_phantom(FIRST_SEED + i, ("T1", "T2")[i % 2], fractures=fracture)


def body_dices(labels: np.ndarray, truth: np.ndarray) -> dict:
    out = {}
    for name in LEVELS[:-1]:
        value = anatomy.by_name(name).label
        out[name] = dice(labels == value, truth == value)
    return out


def heights(labels, level: str) -> dict:
    """The measured anterior / posterior heights of body ``level`` (None where it was not measured)."""
    rows = [v for v in measure_segmentation(labels, anatomy.default_label_names()).vertebrae if v["level"] == level]
    keys = ("vertebra_height_anterior_mm", "vertebra_height_posterior_mm")
    return {k: (rows[0].get(k) if rows else None) for k in keys}


def score(i: int, segment) -> dict:
    ph, twin = phantom(i, True), phantom(i, False)
    level = FRACTURED[i % len(FRACTURED)]
    labels, quality = segment(ph.image)
    twin_labels, _ = segment(twin.image)
    dices, twin_dices = body_dices(labels.array, ph.labels.array), body_dices(twin_labels.array, twin.labels.array)
    true, twin_true = ph.truth["vertebrae"][level], twin.truth["vertebrae"][level]
    structure = quality.structures.get(level)
    return {
        "seed": FIRST_SEED + i,
        "level": level,
        "loss": ANTERIOR_LOSS[(i // 2) % len(ANTERIOR_LOSS)],
        "dice": dices[level],
        "twin_dice": twin_dices[level],
        "named_right": all(d > NAMED_RIGHT_DICE for d in dices.values()),
        "twin_named_right": all(d > NAMED_RIGHT_DICE for d in twin_dices.values()),
        "measured": heights(labels, level),
        "true_anterior_mm": true["vertebral_body_height_anterior_mm"],
        "true_posterior_mm": true["vertebral_body_height_posterior_mm"],
        "twin_measured": heights(twin_labels, level),
        "twin_true_anterior_mm": twin_true["vertebral_body_height_anterior_mm"],
        "twin_true_posterior_mm": twin_true["vertebral_body_height_posterior_mm"],
        "level_flags": list(structure.flags) if structure else ["not segmented"],
        "case_flags": list(quality.flags),
    }


def _mm(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def row_line(r: dict) -> str:
    m, t = r["measured"], r["twin_measured"]
    return (
        f"{r['seed']} {r['level']} -{r['loss']:.0%}: Dice {r['dice']:.2f} (twin {r['twin_dice']:.2f}); anterior / "
        f"posterior {_mm(m['vertebra_height_anterior_mm'])} / {_mm(m['vertebra_height_posterior_mm'])} mm (true "
        f"{r['true_anterior_mm']:.1f} / {r['true_posterior_mm']:.1f}; twin {_mm(t['vertebra_height_anterior_mm'])} / "
        f"{_mm(t['vertebra_height_posterior_mm'])}, true {r['twin_true_anterior_mm']:.1f} / "
        f"{r['twin_true_posterior_mm']:.1f}); named right {r['named_right']} (twin {r['twin_named_right']}); flags: "
        f"{'; '.join(r['case_flags'] + r['level_flags']) or '-'}"
    )


def height_errors(rows: list[dict], side: str, twin: bool = False) -> list[float]:
    """Measured minus true ``side`` height of the fractured body (or the twin's same body), where it was measured."""
    measured, true = ("twin_measured", f"twin_true_{side}_mm") if twin else ("measured", f"true_{side}_mm")
    key = f"vertebra_height_{side}_mm"
    return [r[measured][key] - r[true] for r in rows if r[measured][key] is not None]


def _median(values: list[float]):
    return float(np.median(values)) if values else None


def summarise(rows: list[dict]) -> dict:
    named = [r for r in rows if r["named_right"]]  # a misnamed body's heights are another body's
    return {
        "phantoms": len(rows),
        "named_right": len(named),
        "twins_named_right": sum(r["twin_named_right"] for r in rows),
        "fractured_body_dice_mean": float(np.mean([r["dice"] for r in rows])),
        "twin_body_dice_mean": float(np.mean([r["twin_dice"] for r in rows])),
        "named_right_anterior_height_error_mm_median": _median(height_errors(named, "anterior")),
        "named_right_posterior_height_error_mm_median": _median(height_errors(named, "posterior")),
        "twin_anterior_height_error_mm_median": _median(height_errors(rows, "anterior", twin=True)),
        "twin_posterior_height_error_mm_median": _median(height_errors(rows, "posterior", twin=True)),
        "misnamed_flagged": sum(bool(r["case_flags"]) for r in rows if not r["named_right"]),
        "named_right_flagged": sum(bool(r["case_flags"] or r["level_flags"]) for r in named),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--phantoms", type=int, default=12)
    ap.add_argument("-o", "--output", help="write every row and the summary as JSON")
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args, with_quality=True)
    rows = []
    for i in range(args.phantoms):
        r = score(i, segment)
        rows.append(r)
        print(row_line(r), flush=True)
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"rows": rows, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
