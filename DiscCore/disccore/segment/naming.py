"""Level names: the body taken as L5, the others counted upwards from it, a disc named by the bodies around it.

A 2D network sees too little to tell L2 from L3, but it recognises L5 (next to the sacrum): every body of the column
is named by counting upwards from L5 along the spine (LPS z, superior), and a disc by the two bodies it lies between
(the one just below L5 is L5-S1).
"""

from __future__ import annotations

from ..image import box_edge_sides

NAMES_UP_FROM_L5 = ("L5", "L4", "L3", "L2", "L1", "T12", "T11")
MAX_END_DISC_DISTANCE_MM = 30.0  # a disc beyond the last named body must lie this close to it
SACRAL_PIECE_FRACTION = 0.6  # a lowest "L5" smaller than this share of the body above is the top of S1
SACRUM = "the sacrum"
BELOW_L5 = "a vertebral body below L5"
ABOVE_T11 = "a body above T11"


def name_bodies(bodies, disc_z, min_score: float, tie_fraction: float) -> tuple[dict, bool, list]:
    """Name -> body for the bodies (superior -> inferior, with their L5 scores) counted upwards from L5, whether the
    network recognised L5 (otherwise the lowest body is L5), and what was set aside (one phrase per piece).
    ``disc_z``: the discs' heights (LPS z, mm)."""
    if not bodies:
        return {}, True, []
    anchor, anchored, dropped = _l5_anchor(bodies, disc_z, min_score, tie_fraction)
    named = {}
    for k, body in enumerate(bodies):
        steps_up = anchor - k
        if 0 <= steps_up < len(NAMES_UP_FROM_L5):
            named[NAMES_UP_FROM_L5[steps_up]] = body
        else:
            dropped.append(BELOW_L5 if steps_up < 0 else ABOVE_T11)
    return named, anchored, dropped


def lumbar_like_below_l5(bodies, named: dict, disc_z) -> int:
    """How many bodies below the one named L5 look like a lumbar body rather than the sacrum: at least
    SACRAL_PIECE_FRACTION of L5's size, with a disc above and below (S1 has none below). A hint of transitional
    anatomy (six lumbar vertebrae), reported, never acted on."""
    return sum(1 for k in _l5_sized_below_l5(bodies, named, disc_z) if _disc_below(bodies, k, disc_z))


def l5_sized_without_disc_below(bodies, named: dict, disc_z) -> int:
    """How many bodies below the one named L5 are as large as a lumbar body (at least SACRAL_PIECE_FRACTION of L5's
    size) with a disc above and none below: the network rarely segments S1 as a whole body, so such a body is most
    often an L5 fused to the sacrum (sacralised), and every name above it counted one level too low. A hint,
    reported, never acted on (1 of 21 real images of ../shared/data, none of the phantoms with a normal L5-S1)."""
    return sum(1 for k in _l5_sized_below_l5(bodies, named, disc_z) if not _disc_below(bodies, k, disc_z))


def sacrum_at_lower_edge(bodies, named: dict, dropped: list, shape, geometry) -> bool:
    """Whether the naming took the body just below L5 for the sacrum (``dropped`` holds SACRUM: it was small, or had
    no disc below it, not the network's L5) and that body reaches the inferior edge of the grid (``shape``,
    ``geometry``): so does the lower half of an L5 that the image ends inside, which cannot be told from the top of S1
    (every name would be one level off). A hint, reported, never acted on."""
    k5 = _index_of_l5(bodies, named)
    if SACRUM not in dropped or k5 is None or k5 + 1 >= len(bodies):
        return False
    return "inferior" in box_edge_sides(bodies[k5 + 1].piece.box, shape, geometry.direction)


def _index_of_l5(bodies, named: dict):
    """Index in ``bodies`` of the one named L5 (None when none is)."""
    return next((k for k, b in enumerate(bodies) if b is named.get("L5")), None)


def _l5_sized_below_l5(bodies, named: dict, disc_z) -> list:
    """Indices of the bodies below the one named L5 at least SACRAL_PIECE_FRACTION of its size with a disc above."""
    k5 = _index_of_l5(bodies, named)
    if k5 is None:
        return []
    l5 = bodies[k5]
    return [
        k
        for k in range(k5 + 1, len(bodies))
        if bodies[k].voxels >= SACRAL_PIECE_FRACTION * l5.voxels and _disc_below(bodies, k - 1, disc_z)
    ]


def name_discs(discs, body_z: dict, geometry) -> tuple[dict, list]:
    """Name -> disc for the disc pieces (:class:`.masks.Piece`) between two consecutive named bodies, or just below L5
    / above the top body (of two pieces with the same name the larger), and what was set aside. ``body_z``: the named
    bodies' heights (LPS z, mm)."""
    named, dropped = {}, []
    for disc in discs:
        name = _disc_name(float(disc.centre(geometry)[2]), body_z)
        if name is None:
            dropped.append("a disc not between two named vertebrae")
        elif name not in named or disc.voxels > named[name].voxels:
            named[name] = disc
    return named, dropped


def _l5_anchor(bodies, disc_z, min_score: float, tie_fraction: float) -> tuple[int, bool, list]:
    """Index of the body taken as L5, whether the network recognised it (otherwise the lowest body), and what was set
    aside: the most L5-like body, corrected for a sacral piece taken for it."""
    scores = [b.score for b in bodies]
    # the L5 signal also lights up sacral pieces below L5: of the bodies nearly as L5-like as the best, the highest
    anchor = min(k for k, s in enumerate(scores) if s >= tie_fraction * max(scores))
    if scores[anchor] < min_score:
        return len(bodies) - 1, False, []  # no clear L5: assume the lowest body is L5
    if (
        anchor > 0
        and anchor == len(bodies) - 1
        and scores[anchor - 1] >= min_score
        and bodies[anchor].voxels < SACRAL_PIECE_FRACTION * bodies[anchor - 1].voxels
    ):
        return anchor - 1, True, [SACRUM]  # the top of S1, smaller than L5 above it, which looks like L5 too
    # L5 has the L5-S1 disc below it; the sacrum (S1) has none. A "most L5-like" body with no disc below
    # but a disc above is the sacrum: L5 is the body above it.
    if anchor > 0 and not _disc_below(bodies, anchor, disc_z) and _disc_below(bodies, anchor - 1, disc_z):
        return anchor - 1, True, [SACRUM]
    return anchor, True, []


def _disc_below(bodies, k: int, disc_z) -> bool:
    """Whether a disc lies below body k (between it and the next body, or within reach if it is the lowest)."""
    z = bodies[k].z
    floor = bodies[k + 1].z if k + 1 < len(bodies) else z - MAX_END_DISC_DISTANCE_MM
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
