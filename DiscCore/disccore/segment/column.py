"""The vertebral bodies of the spinal column, superior -> inferior, from the network's body voxels.

Bodies are separated on a slab along the column's centre line (where the discs part them reliably, whatever the
lateral curve), fragments dropped, two bodies joined where the disc between them was missed cut apart, and body-like
pieces off the column (bowel or pelvis in front of or beside it, sacral pieces far below) set aside. Which disc pieces
lie on the column is told the same way. "Up" is LPS z (superior), so any orientation in the file is handled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .classes import BODY, L5_BODY
from .masks import Piece, bounding_box, components, left_right_axis, pieces
from .morphology import nearest_label

MIN_BODY_MM3 = 1000.0  # smaller pieces are fragments
MIN_BODY_CORE_MM3 = 300.0  # the same on the central slab
MIN_BODY_FRACTION_OF_MEDIAN = 0.4  # pieces far smaller than a typical body: fragments, a body cut by the field of view
# Far from the mid-sagittal plane discs fade and neighbouring bodies touch through partial volume; within this
# distance of it (across the sagittal slices) the discs separate them reliably. The plane follows the column's centre
# line: at each height the left-right median of the body and disc voxels in a band this high, smoothed by the median
# over this height (about a body and a disc: the line follows a curved spine, not one body's shape or a piece beside).
CORE_HALF_WIDTH_MM = 10.0
CENTRE_LINE_BAND_MM = 5.0
CENTRE_LINE_SMOOTHING_MM = 40.0
MAX_OFF_COLUMN_MM = 20.0  # a body or disc centre farther than this from the curve through the (other) bodies is off it
# Disc pieces on the column far smaller than a typical one are no discs: the network finds slivers of 1-3 % of a disc
# at the fused S1-S2 junction of some real sacra; of a real L5-S1 disc it mostly missed it still kept 7-9 %.
MIN_DISC_FRACTION_OF_MEDIAN = 0.05
MAX_GAP_FACTOR = 2.4  # bodies farther from the next one than this many typical spacings are off the column
MERGED_NEIGHBOURS = 2  # a body is judged joined against this many bodies on each side of it
# A joined pair is cut where it is thinnest, which is where the missed disc lies: a disc piece is found this close to
# the cut unless the network missed every voxel of it. A piece the network takes for L5 in both halves with no disc
# near the cut is one L5 (judged large only because the sacrum's small pieces below it are among its neighbours).
DISC_NEAR_CUT_MM = 8.0

SMALL_PIECE = "a body piece much smaller than the others"
OFF_COLUMN = "a body-like piece off the spinal column"


@dataclass
class Body:
    centre: np.ndarray  # LPS, mm
    score: float  # how L5-like: the network's L5 share of the body probability
    piece: Piece
    voxels: int

    @property
    def z(self) -> float:
        return float(self.centre[2])


def column_bodies(body: np.ndarray, disc: np.ndarray, disc_z, probs: np.ndarray, geometry, params):
    """The bodies of the column in ``body`` (a mask; ``disc``: the disc voxels, with which they trace the column;
    ``disc_z``: the disc pieces' heights, LPS z in mm), superior -> inferior, and what was set aside (one phrase per
    piece). ``params``: the model's :class:`.postprocessing.PostProcessing`."""
    found = _body_pieces(body, disc, geometry)
    bodies = sorted((_body(piece, probs, geometry) for piece in found), key=lambda b: -b.z)
    dropped = []
    if len(bodies) >= 3:
        typical = float(np.median([b.voxels for b in bodies]))
        small = [b for b in bodies if b.voxels < MIN_BODY_FRACTION_OF_MEDIAN * typical]
        dropped += [SMALL_PIECE] * len(small)
        bodies = [b for b in bodies if b.voxels >= MIN_BODY_FRACTION_OF_MEDIAN * typical]
    bodies = _split_merged(bodies, probs, geometry, params, disc_z)
    bodies, off_column = _on_the_column(bodies)
    bodies, beyond = _main_column(bodies)
    dropped += [OFF_COLUMN] * (len(off_column) + len(beyond))
    return bodies, dropped


def _body_pieces(body: np.ndarray, disc: np.ndarray, geometry) -> list:
    """Bodies separated on the central slab along the column's centre line, then extended to all body voxels
    (nearest central piece); all the work is done in the bounding box of the body voxels."""
    if not body.any():
        return []
    idx = np.argwhere(body)
    box = bounding_box(idx)  # all body voxels
    axis = left_right_axis(geometry)
    x, z = _across_and_height(idx, geometry, axis)
    disc_x, disc_z = _across_and_height(np.argwhere(disc), geometry, axis)
    central = np.abs(x - _centre_line(np.r_[x, disc_x], np.r_[z, disc_z], z)) <= CORE_HALF_WIDTH_MM
    core = np.zeros(body[box].shape, bool)
    core[tuple((idx[central] - [s.start for s in box]).T)] = True
    core_lab, core_ids, _ = components(core, int(MIN_BODY_CORE_MM3 / geometry.voxel_volume_mm3))
    if not core_ids:
        lab, ids, _ = components(body, int(MIN_BODY_MM3 / geometry.voxel_volume_mm3))
        return list(pieces(lab, ids).values())
    kept_label = np.zeros(int(core_lab.max()) + 1, core_lab.dtype)  # core label -> itself if kept, else 0
    kept_label[core_ids] = core_ids
    kept = kept_label[core_lab]
    inside = body[box]
    lab = np.zeros(inside.shape, kept.dtype)
    lab[inside] = nearest_label(kept, geometry.spacing, inside)
    sizes = np.bincount(lab[inside], minlength=len(kept_label))
    ids = [i for i in core_ids if sizes[i] * geometry.voxel_volume_mm3 >= MIN_BODY_MM3]
    return list(pieces(lab, ids, offset=box).values())


def _across_and_height(idx: np.ndarray, geometry, axis: int):
    """Position across the sagittal slices (mm along array ``axis``: the column's left-right as the file holds it,
    however the patient lies in the scanner) and height (LPS z, mm) of voxel indices (N, 3)."""
    return idx[:, axis] * geometry.spacing[axis], geometry.index_to_lps(idx)[:, 2]


def _centre_line(x: np.ndarray, z: np.ndarray, at_z: np.ndarray) -> np.ndarray:
    """The column's left-right position (mm) at heights ``at_z`` (within those of the column voxels at ``x``, ``z``):
    the median x per band of CENTRE_LINE_BAND_MM, then the median of the bands within CENTRE_LINE_SMOOTHING_MM / 2
    above and below."""
    band = np.floor((z - z.min()) / CENTRE_LINE_BAND_MM).astype(int)
    order = np.argsort(band, kind="stable")
    bands, starts = np.unique(band[order], return_index=True)
    per_band = np.array([np.median(v) for v in np.split(x[order], starts[1:])])
    reach = CENTRE_LINE_SMOOTHING_MM / 2 / CENTRE_LINE_BAND_MM
    smooth = np.array([np.median(per_band[np.abs(bands - b) <= reach]) for b in bands])
    at_band = np.floor((at_z - z.min()) / CENTRE_LINE_BAND_MM).astype(int)
    return np.interp(at_band, bands, smooth)


def _body(piece: Piece, probs: np.ndarray, geometry) -> Body:
    p_l5 = probs[L5_BODY][piece.box][piece.mask].sum()
    score = float(p_l5 / max(p_l5 + probs[BODY][piece.box][piece.mask].sum(), 1e-6))
    return Body(piece.centre(geometry), score, piece, piece.voxels)


def _split_merged(bodies, probs, geometry, params, disc_z):
    """A body ``params.merged_factor`` times the median size of its neighbours or more is two bodies joined where the
    disc between them was missed (or a body and the top of S1): cut it across the spine (LPS z) where it is thinnest,
    in the middle half of its height. The body most above its neighbours is cut first, and again until none is that
    large (two joined pairs side by side each still stand out against the bodies beyond them). A cut that would give
    two L5s with no disc near it is not made (:data:`DISC_NEAR_CUT_MM`): that body stays whole and is not judged
    again."""
    out = sorted(bodies, key=lambda b: -b.z)
    whole = []  # bodies judged one body after all
    while len(out) >= 3:
        ratios = [0.0 if any(b is w for w in whole) else b.voxels / _neighbours_size(out, i) for i, b in enumerate(out)]
        i = int(np.argmax(ratios))
        if ratios[i] < params.merged_factor:
            break
        cut = _cut_across(out[i], probs, geometry)
        if cut is None:
            break
        parts, cut_z = cut
        if _one_l5(parts, cut_z, disc_z, params.l5_anchor_min_score):
            whole.append(out[i])
            continue
        out = sorted(out[:i] + parts + out[i + 1 :], key=lambda b: -b.z)
    return out


def _one_l5(parts, cut_z: float, disc_z, l5_min_score: float) -> bool:
    """Whether both halves of a cut look like L5 and no disc lies near the cut: one L5, not two bodies joined."""
    l5_like = all(p.score >= l5_min_score for p in parts)
    return l5_like and not any(abs(z - cut_z) <= DISC_NEAR_CUT_MM for z in disc_z)


def rejoin_split_l5(bodies, column_disc_z, probs, geometry, params) -> list:
    """The bodies (superior -> inferior) with each two neighbouring pieces that both look like L5, with no disc of the
    column (``column_disc_z``, :func:`on_the_column`) between them and together no larger than
    ``params.merged_factor`` times the body above them, joined as one L5: at the foot of a strong lateral curve the
    central slab can cross L5 slantwise and find it in two pieces (3.0.0 on a real image bent by a 40-degree curve),
    and the upper piece, with no disc below it, was then taken for the sacrum."""
    out = list(bodies)
    for i in range(len(out) - 2, 0, -1):
        upper, lower, above = out[i], out[i + 1], out[i - 1]
        l5_like = min(upper.score, lower.score) >= params.l5_anchor_min_score
        disc_between = any(lower.z < z < upper.z for z in column_disc_z)
        if l5_like and not disc_between and upper.voxels + lower.voxels <= params.merged_factor * above.voxels:
            joined = np.concatenate([upper.piece.indices(), lower.piece.indices()])
            out[i : i + 2] = [_body(_piece_of(joined), probs, geometry)]
    return out


def _neighbours_size(bodies, i: int) -> float:
    """The median size of the MERGED_NEIGHBOURS bodies above and below body ``i`` (superior -> inferior order): the
    bodies grow about threefold from T11 to L5, so against the whole column's median a healthy L4 looked joined, was
    cut in two, and the lowered median had its neighbours cut too."""
    near = bodies[max(0, i - MERGED_NEIGHBOURS) : i] + bodies[i + 1 : i + 1 + MERGED_NEIGHBOURS]
    return float(np.median([b.voxels for b in near]))


def _cut_across(b, probs, geometry):
    """The two halves of body ``b`` cut across the spine where it is thinnest, and the height of the cut (LPS z, mm);
    None if a half would be empty."""
    idx = b.piece.indices()
    z = geometry.index_to_lps(idx)[:, 2]
    lo, hi = np.percentile(z, 25), np.percentile(z, 75)
    step = max(1.0, float(max(geometry.spacing)))  # bins no finer than the voxels, or some stay empty
    edges = np.arange(lo, hi + step, step)
    counts, _ = np.histogram(z, edges)
    cut = float(edges[int(np.argmin(counts))] + step / 2) if len(counts) else float(np.median(z))
    halves = (z >= cut, z < cut)
    if not all(h.any() for h in halves):
        return None
    return [_body(_piece_of(idx[half]), probs, geometry) for half in halves], cut


def _piece_of(idx: np.ndarray) -> Piece:
    """The piece made of voxel indices (N, 3), in their bounding box."""
    box = bounding_box(idx)
    mask = np.zeros(tuple(s.stop - s.start for s in box), bool)
    mask[tuple((idx - [s.start for s in box]).T)] = True
    return Piece(box, mask)


def _on_the_column(bodies):
    """Bodies near a smooth curve through the column (antero-posterior and left-right positions quadratic in height:
    a lordotic or a laterally curved spine); bowel or pelvic pieces taken for bodies lie well in front of it or to the
    side. The farthest piece is dropped until all lie within MAX_OFF_COLUMN_MM."""
    kept, off = list(bodies), []
    while len(kept) >= 4:
        c = np.array([b.centre for b in kept])
        degree = 2 if len(kept) >= 5 else 1
        ap_fit, lr_fit = (np.polyval(np.polyfit(c[:, 2], c[:, a], degree), c[:, 2]) for a in (1, 0))
        dist = np.hypot(c[:, 1] - ap_fit, c[:, 0] - lr_fit)
        worst = int(np.argmax(dist))
        if dist[worst] <= MAX_OFF_COLUMN_MM:
            break
        off.append(kept.pop(worst))
    return kept, off


def _main_column(bodies):
    """The longest run of consecutive bodies (superior -> inferior) without a gap wider than MAX_GAP_FACTOR
    typical spacings; the rest (pelvic or bowel pieces, sacral segments far below) is returned apart."""
    if len(bodies) < 3:
        return bodies, []
    gaps = [float(np.linalg.norm(a.centre - b.centre)) for a, b in zip(bodies, bodies[1:])]
    typical = float(np.median(gaps))
    runs, start = [], 0
    for k, gap in enumerate(gaps):
        if gap > MAX_GAP_FACTOR * typical:
            runs.append(bodies[start : k + 1])
            start = k + 1
    runs.append(bodies[start:])
    best = max(runs, key=lambda r: (len(r), sum(b.voxels for b in r)))
    return best, [b for r in runs if r is not best for b in r]


def on_the_column(disc_centres, disc_sizes, bodies) -> list:
    """Heights (LPS z, mm) of the disc pieces (centres in LPS, mm; sizes in voxels) that count as the column's discs:
    within MAX_OFF_COLUMN_MM of the line through the bodies' centres (held beyond the end bodies), and at least
    MIN_DISC_FRACTION_OF_MEDIAN of the median such piece. Beside the column the network also finds small disc-like
    pieces (at the foramina, 25-40 mm to the side on real images), and on it slivers at the sacrum's fused S1-S2
    junction; either below the sacrum gave it "a disc below", so the sacrum was taken for L5."""
    if bodies:
        up = sorted(bodies, key=lambda b: b.z)  # np.interp wants rising heights
        z, lr, ap = (np.array([b.centre[a] for b in up]) for a in (2, 0, 1))
        on = [
            (c, n)
            for c, n in zip(disc_centres, disc_sizes)
            if np.hypot(c[0] - np.interp(c[2], z, lr), c[1] - np.interp(c[2], z, ap)) <= MAX_OFF_COLUMN_MM
        ]
    else:
        on = list(zip(disc_centres, disc_sizes))
    if not on:
        return []
    typical = float(np.median([n for _, n in on]))
    return [float(c[2]) for c, n in on if n >= MIN_DISC_FRACTION_OF_MEDIAN * typical]
