"""From class probabilities to named levels: components, L5 anchor, counting along the spine.

The network marks vertebral bodies, the L5 body, discs and the canal. Here every body component is named
by counting upwards from the one the network calls L5 (L4, L3, ... T11); a disc is named by the two
bodies it lies between (the one just below L5 is L5-S1); fragments and structures out of order are dropped.
"Up" is LPS z (superior), so any orientation in the file is handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import anatomy
from ..image import SpatialImage
from .classes import BODY, CANAL, DISC, L5_BODY

MIN_BODY_MM3 = 1000.0
MIN_BODY_CORE_MM3 = 300.0
MIN_BODY_FRACTION_OF_MEDIAN = 0.4
CORE_HALF_WIDTH_MM = 10.0
MIN_DISC_MM3 = 150.0
MIN_CANAL_MM3 = 300.0
L5_ANCHOR_MIN_SCORE = 0.35
MAX_END_DISC_DISTANCE_MM = 30.0  # a disc beyond the last named body must lie this close to it
NAMES_UP_FROM_L5 = ("L5", "L4", "L3", "L2", "L1", "T12", "T11")


@dataclass
class LevelReport:
    """What the level naming did (for messages and notes)."""

    anchored_on_l5: bool = True
    dropped: list = field(default_factory=list)


def _components(mask: np.ndarray, min_voxels: int):
    from scipy import ndimage

    lab, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return lab, []
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    return lab, [i + 1 for i in range(n) if sizes[i] >= min_voxels]


def _body_components(body: np.ndarray, geometry):
    """Bodies separated on the central slab, then extended to all body voxels (nearest central piece).

    Far from the mid-sagittal plane discs fade and neighbouring bodies touch through partial volume; within
    CORE_HALF_WIDTH_MM of it the discs separate them reliably.
    """
    from scipy import ndimage

    if not body.any():
        return np.zeros(body.shape, np.int32), []
    idx = np.argwhere(body)
    x = geometry.index_to_lps(idx)[:, 0]  # LPS x: right -> left
    mid = float(np.median(x))
    core = np.zeros(body.shape, bool)
    central = np.abs(x - mid) <= CORE_HALF_WIDTH_MM
    core[tuple(idx[central].T)] = True
    core_lab, core_ids = _components(core, int(MIN_BODY_CORE_MM3 / geometry.voxel_volume_mm3))
    if not core_ids:
        return _components(body, int(MIN_BODY_MM3 / geometry.voxel_volume_mm3))
    kept = np.where(np.isin(core_lab, core_ids), core_lab, 0)
    box = tuple(slice(int(a), int(b) + 1) for a, b in zip(idx.min(axis=0), idx.max(axis=0)))  # all body voxels
    _, nearest = ndimage.distance_transform_edt(kept[box] == 0, sampling=geometry.spacing, return_indices=True)
    lab = np.zeros(body.shape, np.int32)
    lab[box] = np.where(body[box], kept[box][tuple(nearest)], 0)
    sizes = {i: int((lab == i).sum()) for i in core_ids}
    return lab, [i for i in core_ids if sizes[i] * geometry.voxel_volume_mm3 >= MIN_BODY_MM3]


def _z_mm(geometry, mask: np.ndarray) -> float:
    return float(geometry.index_to_lps(np.argwhere(mask).mean(axis=0))[2])


def name_levels(probs: np.ndarray, geometry) -> tuple[SpatialImage, LevelReport]:
    """Label map (uint8, anatomy-scheme values) from class probabilities (C, i, j, k) on ``geometry``."""
    voxel = geometry.voxel_volume_mm3
    sem = np.argmax(probs, axis=0)
    out = np.zeros(sem.shape, np.uint8)
    rep = LevelReport()

    disc_lab, disc_ids = _components(sem == DISC, int(MIN_DISC_MM3 / voxel))
    # vertebral bodies: order superior -> inferior, anchor on the most L5-like, count upwards
    body_lab, body_ids = _body_components((sem == BODY) | (sem == L5_BODY), geometry)
    bodies = []
    for i in body_ids:
        m = body_lab == i
        p_l5 = probs[L5_BODY][m].sum()
        score = float(p_l5 / max(p_l5 + probs[BODY][m].sum(), 1e-6))
        bodies.append((_z_mm(geometry, m), score, m))
    bodies.sort(key=lambda b: -b[0])
    if len(bodies) >= 3:  # pieces far smaller than a typical body: fragments, a body cut by the field of view, sacrum
        typical = float(np.median([b[2].sum() for b in bodies]))
        small = [b for b in bodies if b[2].sum() < MIN_BODY_FRACTION_OF_MEDIAN * typical]
        rep.dropped += ["a body piece much smaller than the others"] * len(small)
        bodies = [b for b in bodies if b[2].sum() >= MIN_BODY_FRACTION_OF_MEDIAN * typical]
    named = {}
    if bodies:
        scores = [b[1] for b in bodies]
        anchor = int(np.argmax(scores))
        if scores[anchor] < L5_ANCHOR_MIN_SCORE:
            anchor = len(bodies) - 1  # no clear L5: assume the lowest body is L5
            rep.anchored_on_l5 = False
        disc_z = [_z_mm(geometry, disc_lab == i) for i in disc_ids]
        # L5 has the L5-S1 disc below it; the sacrum (S1) has none. A "most L5-like" body with no disc below
        # but a disc above is the sacrum: L5 is the body above it.
        if anchor > 0 and not _disc_below(bodies, anchor, disc_z) and _disc_below(bodies, anchor - 1, disc_z):
            anchor -= 1
            rep.dropped.append("the sacrum")
        for k in range(len(bodies)):
            steps_up = anchor - k
            if 0 <= steps_up < len(NAMES_UP_FROM_L5):
                name = NAMES_UP_FROM_L5[steps_up]
                out[bodies[k][2]] = anatomy.by_name(name).label
                named[name] = bodies[k][0]
            else:
                rep.dropped.append("a vertebral body below L5" if steps_up < 0 else "a body above T11")

    # discs: between two consecutive named bodies, or just below L5 / above the top body
    best = {}
    for i in disc_ids:
        m = disc_lab == i
        name = _disc_name(_z_mm(geometry, m), named)
        if name is None:
            rep.dropped.append("a disc not between two named vertebrae")
            continue
        size = int(m.sum())
        if name not in best or size > best[name][0]:
            best[name] = (size, i)
    for name, (_, i) in best.items():
        out[disc_lab == i] = anatomy.by_name(name).label

    canal_lab, canal_ids = _components(sem == CANAL, int(MIN_CANAL_MM3 / voxel))
    if canal_ids:
        largest = max(canal_ids, key=lambda i: int((canal_lab == i).sum()))
        out[canal_lab == largest] = anatomy.canal().label
    return SpatialImage(out, geometry), rep


def _disc_below(bodies, k: int, disc_z) -> bool:
    """Whether a disc lies below body k (between it and the next body, or within reach if it is the lowest)."""
    z = bodies[k][0]
    floor = bodies[k + 1][0] if k + 1 < len(bodies) else z - MAX_END_DISC_DISTANCE_MM
    return any(floor < dz < z for dz in disc_z)


def _disc_name(z: float, named: dict):
    """The disc level at height z given the named bodies' heights (LPS z, mm); None if it fits nowhere."""
    order = [n for n in NAMES_UP_FROM_L5[::-1] if n in named]  # superior -> inferior
    for up, lo in zip(order, order[1:]):
        if named[lo] < z < named[up] and _consecutive(up, lo):
            return f"{up}-{lo}"
    if "L5" in named and named["L5"] - MAX_END_DISC_DISTANCE_MM < z < named["L5"]:
        return "L5-S1"
    if order:
        top = order[0]
        above = _name_above(top)
        if above and named[top] < z < named[top] + MAX_END_DISC_DISTANCE_MM:
            return f"{above}-{top}"
    return None


def _consecutive(up: str, lo: str) -> bool:
    return NAMES_UP_FROM_L5.index(up) == NAMES_UP_FROM_L5.index(lo) + 1


def _name_above(name: str):
    k = NAMES_UP_FROM_L5.index(name)
    return NAMES_UP_FROM_L5[k + 1] if k + 1 < len(NAMES_UP_FROM_L5) else None
