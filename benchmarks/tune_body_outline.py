"""The body-outline thresholds scored on held-out real images: which probability a body keeps, L5 apart from the rest.

Each held-out image of one cross-validation fold goes through the network once; its class probabilities are then
named and cut (disccore.segment.levels.name_levels) with each pair of ``body_trim_probability`` (every body but L5) and
``l5_body_trim_probability`` (L5) on a grid, the other post-processing values as the model has them, and every
manually labelled level scored (Dice, and whether it was named right). Prints the mean Dice of the bodies, of L5, of
L1-L4 and of the discs for each pair, so the pair can be chosen on one fold and checked on the others. ``--look t1``
gives every image the look of another scanner first (adapt_new_scanner.new_look): a contrast the network is less sure
of, where a high threshold could cut a body short.

    PYTHONPATH=DiscCore python benchmarks/tune_body_outline.py --data ../shared/data --weights cv0/fold0.pt --fold 0
"""

from __future__ import annotations

import argparse

import numpy as np
from heldout import add_heldout_arguments, add_look_arguments, held_out_cases, show_and_save, with_look
from model_choice import add_model_arguments, cut, probabilities
from pathology_heldout import Held, level_scores

BODY_TRIM_GRID = (0.8, 0.85, 0.9)
L5_TRIM_GRID = (0.85, 0.9, 0.93, 0.95, 0.97)
GROUPS = {  # how the scores are summarised: group -> which levels it takes
    "bodies": lambda level: "-" not in level,
    "L5": lambda level: level == "L5",
    "L1-L4": lambda level: level in ("L1", "L2", "L3", "L4"),
    "discs": lambda level: "-" in level,
}


def scored_variants(held: Held, prediction, postprocessing) -> list[dict]:
    """One row per manual level and grid pair: the level's Dice and whether it was named right."""
    manual = held.manual(held.labels)
    rows = []
    for body_trim in BODY_TRIM_GRID:
        for l5_trim in L5_TRIM_GRID:
            overrides = {"body_trim_probability": body_trim, "l5_body_trim_probability": l5_trim}
            labels = cut(prediction, postprocessing, held.image.geometry, **overrides)
            for level, (right, d) in level_scores(labels, manual).items():
                rows.append(
                    {"case": held.case.name, "body_trim": body_trim, "l5_trim": l5_trim, "level": level}
                    | {"named_right": right, "dice": d}
                )
    return rows


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for body_trim in BODY_TRIM_GRID:
        for l5_trim in L5_TRIM_GRID:
            mine = [r for r in rows if r["body_trim"] == body_trim and r["l5_trim"] == l5_trim]
            line = {
                "body_trim": body_trim,
                "l5_trim": l5_trim,
                "named_right": float(np.mean([r["named_right"] for r in mine])),
            }
            for group, takes in GROUPS.items():
                values = [r["dice"] for r in mine if takes(r["level"])]
                line[group] = round(float(np.mean(values)), 4) if values else None
            out.append(line)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    add_model_arguments(ap)
    add_look_arguments(ap)
    args = ap.parse_args()
    predict, info = probabilities(args)
    rows = []
    for i, case in enumerate(held_out_cases(args)):
        held = Held(case)
        rows += scored_variants(held, predict(with_look(held.image, args, i)), info.postprocessing)
        print(case.name, flush=True)
    show_and_save(summary(rows), rows, args.output)


if __name__ == "__main__":
    main()
