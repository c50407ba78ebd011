"""Does the "darker than the other discs" flag find degenerated discs, and leave healthy ones alone?

Each held-out image of one cross-validation fold (``--fold``) is segmented as it is and with one disc (``--level``,
default L4-L5) darkened and thinned as in pathology_heldout.py (to 35 % of its signal and 60 % of its height; on vb2 and
vb3, which have no hand-drawn discs, the disc derived between the manual bodies). It prints the edited disc's signal
relative to the other discs' (disccore.quality.disc_signal) before and after, keeps every named disc's in ``-o``, so the
threshold (disccore.quality.thresholds, ``max_relative_disc_signal``) can be judged: how many edited discs fall below
it, how many untouched ones do (an edited disc is counted under its own name; on a misnamed image the flag may sit on
the name the model gave it).

    PYTHONPATH=DiscCore python benchmarks/dark_discs.py --data ../shared/data -o dark.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from heldout import add_heldout_arguments, held_out_cases
from model_choice import add_model_arguments, segmenter
from pathology_heldout import DARKENING, THINNING, Held

from disccore.quality.disc_signal import disc_to_body_signals, relative_disc_signals
from disccore.quality.thresholds import THRESHOLDS
from disccore.training.data import named_manual_labels
from disccore.training.derive import derive_discs_between_bodies
from disccore.training.variants import degenerate_disc


def disc_mask(held: Held, level: str):
    """The level's disc in the canonical layout: the readers' where drawn, else derived between the manual bodies."""
    named = named_manual_labels(held.case, held.canonical.target)
    if level in named:
        return named[level]
    return derive_discs_between_bodies(named, held.canonical.spacing).get(level)


def relative_signals(segment, image) -> dict:
    labels = segment(image)
    return relative_disc_signals(disc_to_body_signals(image.array, labels.array, image.geometry.direction))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    add_model_arguments(ap)
    ap.add_argument("--level", default="L4-L5", help="the disc darkened and thinned (default L4-L5)")
    args = ap.parse_args()
    segment = segmenter(args)
    rows = []
    for case in held_out_cases(args):
        held = Held(case)
        disc = disc_mask(held, args.level)
        if disc is None or not disc.any():
            continue
        before = relative_signals(segment, held.image)
        edited, _ = held.as_file(degenerate_disc(held.canonical, disc, DARKENING, THINNING))
        after = relative_signals(segment, edited)
        rows.append({"case": case.name, "untouched": before, "edited": after})
        print(case.name, args.level, before.get(args.level), "->", after.get(args.level), flush=True)
    limit = THRESHOLDS.max_relative_disc_signal
    untouched = [v for r in rows for v in r["untouched"].values() if v is not None]
    edited = [r["edited"].get(args.level) for r in rows]
    quantiles = [float(np.percentile(untouched, q)) for q in (1, 5, 50)] if untouched else None
    summary = {
        "threshold": limit,
        "edited discs": len(edited),
        "edited discs flagged": sum(v is not None and v < limit for v in edited),
        "edited discs with no signal (not found, or too few others)": sum(v is None for v in edited),
        "untouched discs": len(untouched),
        "untouched discs flagged": sum(v < limit for v in untouched),
        "untouched, percentiles 1 / 5 / 50": quantiles,
    }
    print(json.dumps(summary, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
