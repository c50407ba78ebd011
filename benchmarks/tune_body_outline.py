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
import json
from pathlib import Path

import numpy as np
from adapt_new_scanner import new_look
from heldout import add_heldout_arguments, held_out_cases
from model_choice import add_model_arguments, network_runner
from pathology_heldout import Held, level_scores

from disccore.image import SpatialImage

BODY_TRIM_GRID = (0.8, 0.85, 0.9)
L5_TRIM_GRID = (0.85, 0.9, 0.93, 0.95, 0.97)
GROUPS = {  # how the scores are summarised: group -> which levels it takes
    "bodies": lambda level: "-" not in level,
    "L5": lambda level: level == "L5",
    "L1-L4": lambda level: level in ("L1", "L2", "L3", "L4"),
    "discs": lambda level: "-" in level,
}


def probabilities(args):
    """A function image -> the network's prediction on the model grid (probabilities, geometry, way back), and the
    model's info (its post-processing)."""
    from disccore.segment import context_offsets
    from disccore.segment.infer import predict_on_model_grid

    runner, info = network_runner(args)
    return (lambda image: predict_on_model_grid(runner, image, info.input_spacing_mm, context_offsets(info))), info


def cut(prediction, postprocessing, geometry, **overrides) -> SpatialImage:
    """The label map on the image's grid (``geometry``) that the prediction gives with the model's post-processing,
    some of its values replaced (``overrides``)."""
    from disccore.segment.back_to_input import labels_to_input_grid
    from disccore.segment.levels import name_levels

    labels, _ = name_levels(prediction.probs, prediction.geometry, postprocessing, **overrides)
    canonical = labels_to_input_grid(labels.array, prediction.probs, prediction.input_size_2d)
    return SpatialImage(np.ascontiguousarray(prediction.reorientation.from_canonical(canonical)), geometry)


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


def add_look_arguments(ap) -> None:
    ap.add_argument("--look", choices=("none", "t1"), default="none", help="another scanner's look (t1: T1-like)")
    ap.add_argument("--seed", type=int, default=0, help="the look's bias field and noise")


def with_look(image: SpatialImage, args, i: int) -> SpatialImage:
    """The ``i``-th image with the look ``args.look`` (its own seed), or as it is."""
    if args.look == "none":
        return image
    return SpatialImage(new_look(image.array, args.look, args.seed + i), image.geometry)


def show_and_save(lines: list[dict], rows: list[dict], output) -> None:
    """The summary lines printed as JSON, and with ``output`` every row and the summary written there."""
    for line in lines:
        print(json.dumps(line))
    if output:
        Path(output).write_text(json.dumps({"summary": lines, "rows": rows}, indent=1))


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
