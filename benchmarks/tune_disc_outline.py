"""The disc-outline threshold scored on held-out real discs: which probability a disc keeps, by Dice and by height.

Each held-out image of one cross-validation fold that has hand-drawn discs goes through the network once; its class
probabilities are then named and cut (disccore.segment.levels.name_levels) with each ``disc_trim_probability`` of a
grid, the other post-processing values as the model has them. Every manual disc is scored by its Dice and by its
height error: the mean disc height (disccore.measure) on the prediction minus the same on the manual labels, since
the height is what a user reads. ``--look t1`` gives every image the look of another scanner first (a contrast the
network is less sure of, where a high threshold could cut a disc short); ``--degenerate`` first darkens and thins
L4-L5 and L5-S1 as benchmarks/pathology_heldout.py does, and scores those two.

    PYTHONPATH=DiscCore python benchmarks/tune_disc_outline.py --data ../shared/data --weights cv0/fold0.pt --fold 0
"""

from __future__ import annotations

import argparse

import numpy as np
from heldout import add_heldout_arguments, add_look_arguments, held_out_cases, show_and_save, with_look
from model_choice import add_model_arguments, cut, probabilities
from pathology_heldout import DEGENERATED, Held, level_scores, named_map, with_degenerated_discs

from disccore import anatomy
from disccore.image import SpatialImage
from disccore.measure import measure_segmentation
from disccore.training.data import MANUAL_DISC_DATASETS

DISC_TRIM_GRID = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)


def disc_heights(labels: SpatialImage) -> dict:
    """{disc level: mean disc height (mm)}."""
    return {r["level"]: r["disc_height_mm"] for r in measure_segmentation(labels, anatomy.default_label_names()).discs}


def scored_thresholds(held: Held, image: SpatialImage, manual_labels: SpatialImage, prediction, postprocessing, levels):
    """One row per manual disc (of ``levels``, or all) and threshold: its Dice and height error."""
    manual = held.manual(manual_labels)
    wanted = disc_heights(named_map(manual, manual_labels))
    rows = []
    for trim in DISC_TRIM_GRID:
        predicted = cut(prediction, postprocessing, image.geometry, disc_trim_probability=trim)
        got = disc_heights(predicted)
        for level, (_, d) in level_scores(predicted, manual).items():
            if "-" not in level or (levels and level not in levels):
                continue
            error = got[level] - wanted[level] if level in got and level in wanted else None
            rows.append({"case": held.case.name, "trim": trim, "level": level, "dice": d, "height_error_mm": error})
    return rows


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for trim in DISC_TRIM_GRID:
        mine = [r for r in rows if r["trim"] == trim]
        errors = [r["height_error_mm"] for r in mine if r["height_error_mm"] is not None]
        out.append(
            {
                "trim": trim,
                "discs": len(mine),
                "dice": round(float(np.mean([r["dice"] for r in mine])), 4),
                "height_error_mean_mm": round(float(np.mean(errors)), 3),
                "height_error_abs_mean_mm": round(float(np.mean(np.abs(errors))), 3),
                "heights_measured": len(errors),
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    add_model_arguments(ap)
    add_look_arguments(ap)
    ap.add_argument("--degenerate", action="store_true", help=f"darken and thin {' and '.join(DEGENERATED)} first")
    args = ap.parse_args()
    predict, info = probabilities(args)
    rows = []
    for i, case in enumerate(c for c in held_out_cases(args) if c.dataset in MANUAL_DISC_DATASETS):
        held = Held(case)
        image, labels = with_degenerated_discs(held) if args.degenerate else (held.image, held.labels)
        image = with_look(image, args, i)
        levels = DEGENERATED if args.degenerate else ()
        rows += scored_thresholds(held, image, labels, predict(image), info.postprocessing, levels)
        print(case.name, flush=True)
    show_and_save(summary(rows), rows, args.output)


if __name__ == "__main__":
    main()
