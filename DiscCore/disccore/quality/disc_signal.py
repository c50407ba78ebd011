"""How dark each disc is beside the other discs of the same image.

A degenerated (desiccated) disc loses its signal on T2-like images, and the network's outline of a dark, thinned disc
takes in the dark endplates on either side: on held-out discs darkened to 35 % and thinned to 60 % it came out about
1 mm higher than the thinned disc (models/MODEL_CARD.md). Each disc's median intensity is taken relative to its two
bodies' (so the image's own brightness cancels), then relative to the other discs' ratios (so a contrast where every
disc is darker than bone, T1, does not count); a disc far below the others is flagged where its height is reported. A
disc cut by the top or bottom of the image is left out (its partial sections are darker: such a T11-T12 disc was flagged
on a real image).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import anatomy
from ..image import box_edge_sides
from ..segment.morphology import find_objects

#: a disc is compared with the others only where at least this many other discs have a signal
MIN_OTHER_DISCS = 2


def disc_to_body_signals(image: np.ndarray, labels: np.ndarray, direction=None) -> dict[str, float]:
    """{disc name: median intensity inside the disc / the mean of its named neighbouring bodies' medians} for the
    discs of ``labels`` (anatomy-scheme values, same grid as ``image``) with at least one named neighbour; with the
    grid's ``direction`` (its direction matrix), not those that reach its superior or inferior edge."""
    boxes = find_objects(labels)
    medians = {}
    for value, box in enumerate(boxes, start=1):
        if box is None:
            continue
        structure = anatomy.by_label(value)
        if structure.kind == "disc" and direction is not None and _cut_by_the_image(box, labels.shape, direction):
            continue
        if structure.kind in ("disc", "vertebra"):
            medians[structure.name] = float(np.median(image[box][labels[box] == value]))
    out = {}
    for disc in anatomy.discs():
        beside = [medians[n] for n in (disc.upper, disc.lower) if n in medians]
        if disc.name in medians and beside and np.mean(beside) > 0:
            out[disc.name] = medians[disc.name] / float(np.mean(beside))
    return out


def relative_disc_signals(signals: dict[str, float]) -> dict[str, Optional[float]]:
    """{disc: its signal / the median of the other discs' signals} (None where fewer than MIN_OTHER_DISCS others)."""
    out = {}
    for name, value in signals.items():
        others = [v for n, v in signals.items() if n != name]
        typical = float(np.median(others)) if len(others) >= MIN_OTHER_DISCS else 0.0
        out[name] = value / typical if typical > 0 else None
    return out


def _cut_by_the_image(box, shape, direction) -> bool:
    sides = box_edge_sides(box, shape, direction)
    return "superior" in sides or "inferior" in sides
