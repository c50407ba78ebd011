"""From class probabilities to named levels: components, L5 anchor, counting along the spine.

The network marks vertebral bodies, the L5 body, discs and the canal. Here body pieces off the column (bowel or
pelvis in front of or beside it, sacral pieces far below) are set aside, every remaining body is named by counting
upwards from the one taken as L5 (L4, L3, ... T11), and a disc is named by the two bodies it lies between (the one
just below L5 is L5-S1); fragments and structures out of order are dropped. Each named body and disc is then
trimmed to the voxels the network is sure of (its arg-max outline runs a little wide), and a disc to the sagittal
slices where its vertebrae are. "Up" is LPS z (superior), so any orientation in the file is handled.
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
MERGED_FACTOR = 1.7  # a body this many times the median size of the others is two bodies joined
MAX_OFF_COLUMN_MM = 20.0  # a body centre farther than this from the curve through the others is off the column
MAX_GAP_FACTOR = 2.4  # bodies farther from the next one than this many typical spacings are off the column
SACRAL_PIECE_FRACTION = 0.6  # a lowest "L5" smaller than this share of the body above is the top of S1
L5_TIE_FRACTION = 0.8  # bodies at least this share of the best L5 score are candidates for L5 (the highest wins)
# The argmax body reaches 1-3 mm past the manual outline (held-out precision 0.74, recall 0.94, worst at the lateral
# edges): a body keeps the voxels the network is this sure of, then the sagittal slices where its section is at least
# this share of its widest (manual bodies, outlined on thick sagittal slices, end laterally in a flat cut where the
# network's outline tapers off). Both chosen on held-out predictions, checked by nested cross-validation: see the
# model card.
BODY_TRIM_PROBABILITY = 0.85
MIN_BODY_SECTION_SHARE = 0.4
# The arg-max disc runs wide in the same way, mostly at its lateral ends, where the network goes on finding disc in
# sagittal slices that only graze the vertebrae (partial volume of thick slices; manual discs stop before). A disc
# keeps the slices where each neighbouring body's section is at least this share of its widest, then the voxels the
# network is this sure of (both chosen on the held-out predictions of the disc images: see the model card).
MIN_DISC_BODY_SECTION_SHARE = 0.3
DISC_TRIM_PROBABILITY = 0.7
MIN_TRIMMED_SHARE = 0.5  # a body or disc the network is rarely that sure of (unfamiliar contrast) keeps its argmax mask
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
    box = _bounding_box(idx)  # all body voxels
    _, nearest = ndimage.distance_transform_edt(kept[box] == 0, sampling=geometry.spacing, return_indices=True)
    lab = np.zeros(body.shape, np.int32)
    lab[box] = np.where(body[box], kept[box][tuple(nearest)], 0)
    sizes = {i: int((lab == i).sum()) for i in core_ids}
    return lab, [i for i in core_ids if sizes[i] * geometry.voxel_volume_mm3 >= MIN_BODY_MM3]


def _bounding_box(idx: np.ndarray) -> tuple:
    """Slices around voxel indices (N, 3)."""
    return tuple(slice(int(a), int(b) + 1) for a, b in zip(idx.min(axis=0), idx.max(axis=0)))


def _centre(geometry, mask: np.ndarray) -> np.ndarray:
    """Centre of a mask in LPS (mm)."""
    return geometry.index_to_lps(np.argwhere(mask).mean(axis=0))


def _z_mm(geometry, mask: np.ndarray) -> float:
    return float(_centre(geometry, mask)[2])


def name_levels(probs: np.ndarray, geometry, body_trim_probability: float = BODY_TRIM_PROBABILITY,
                disc_trim_probability: float = DISC_TRIM_PROBABILITY,
                body_section_share: float = MIN_BODY_SECTION_SHARE,
                disc_section_share: float = MIN_DISC_BODY_SECTION_SHARE) -> tuple[SpatialImage, LevelReport]:
    """Label map (uint8, anatomy-scheme values) from class probabilities (C, i, j, k) on ``geometry``.

    ``body_trim_probability``, ``disc_trim_probability``: each named body or disc keeps its voxels at least this sure;
    ``body_section_share``: each body keeps the sagittal slices where its section is at least this share of its widest;
    ``disc_section_share``: each disc keeps the sagittal slices where its vertebrae's sections are at least this share of
    their widest (0 everywhere keeps the arg-max structures)."""
    voxel = geometry.voxel_volume_mm3
    sem = np.argmax(probs, axis=0)
    out = np.zeros(sem.shape, np.uint8)
    rep = LevelReport()

    disc_lab, disc_ids = _components(sem == DISC, int(MIN_DISC_MM3 / voxel))
    # vertebral bodies: order superior -> inferior, anchor on the most L5-like, count upwards
    body_lab, body_ids = _body_components((sem == BODY) | (sem == L5_BODY), geometry)
    bodies = sorted((_body(body_lab == i, probs, geometry) for i in body_ids), key=lambda b: -b.z)
    if len(bodies) >= 3:  # pieces far smaller than a typical body: fragments, a body cut by the field of view, sacrum
        typical = float(np.median([b.voxels for b in bodies]))
        small = [b for b in bodies if b.voxels < MIN_BODY_FRACTION_OF_MEDIAN * typical]
        rep.dropped += ["a body piece much smaller than the others"] * len(small)
        bodies = [b for b in bodies if b.voxels >= MIN_BODY_FRACTION_OF_MEDIAN * typical]
    bodies = _split_merged(bodies, probs, geometry)
    bodies, off_column = _on_the_column(bodies)
    bodies, beyond = _main_column(bodies)
    rep.dropped += ["a body-like piece off the spinal column"] * (len(off_column) + len(beyond))
    named = {}
    sections = {}  # per named body: its voxel count in each sagittal slice (for the discs' lateral limit)
    left_right = int(np.argmax(np.abs(geometry.direction[0])))  # the array axis closest to left-right
    p_body = probs[BODY] + probs[L5_BODY]
    if bodies:
        anchor = _l5_anchor(bodies, [_z_mm(geometry, disc_lab == i) for i in disc_ids], rep)
        for k in range(len(bodies)):
            steps_up = anchor - k
            if 0 <= steps_up < len(NAMES_UP_FROM_L5):
                name = NAMES_UP_FROM_L5[steps_up]
                body = _trimmed(bodies[k].mask, p_body, body_trim_probability)
                section = _sections(body, left_right)
                body = _in_slices(body, section >= body_section_share * section.max(), left_right)
                out[body] = anatomy.by_name(name).label
                named[name] = bodies[k].z
                sections[name] = _sections(body, left_right)
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
        disc = _within_its_vertebrae(disc_lab == i, name, sections, left_right, disc_section_share)
        out[_trimmed(disc, probs[DISC], disc_trim_probability)] = anatomy.by_name(name).label

    canal_lab, canal_ids = _components(sem == CANAL, int(MIN_CANAL_MM3 / voxel))
    if canal_ids:
        largest = max(canal_ids, key=lambda i: int((canal_lab == i).sum()))
        out[canal_lab == largest] = anatomy.canal().label
    return SpatialImage(out, geometry), rep


@dataclass
class _Body:
    centre: np.ndarray  # LPS, mm
    score: float  # how L5-like: the network's L5 share of the body probability
    mask: np.ndarray

    @property
    def z(self) -> float:
        return float(self.centre[2])

    @property
    def voxels(self) -> int:
        return int(self.mask.sum())


def _body(mask: np.ndarray, probs: np.ndarray, geometry) -> _Body:
    p_l5 = probs[L5_BODY][mask].sum()
    score = float(p_l5 / max(p_l5 + probs[BODY][mask].sum(), 1e-6))
    return _Body(_centre(geometry, mask), score, mask)


def _trimmed(mask: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    """The structure's voxels with probability ``p`` >= threshold (largest piece), or the whole mask when that keeps
    less than MIN_TRIMMED_SHARE of it."""
    from scipy import ndimage

    box = _bounding_box(np.argwhere(mask))
    lab, n = ndimage.label(mask[box] & (p[box] >= threshold), structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())[1:]
    if sizes.max() < MIN_TRIMMED_SHARE * mask.sum():
        return mask
    out = np.zeros(mask.shape, bool)
    out[box] = lab == int(np.argmax(sizes)) + 1
    return out


def _within_its_vertebrae(disc: np.ndarray, name: str, sections: dict, axis: int, share: float) -> np.ndarray:
    """The disc in the sagittal slices (along array ``axis``) where each of its named vertebrae has a section (voxels
    per slice, in ``sections``) at least ``share`` of its widest; a vertebra not named (S1, or one beyond the field
    of view) sets no limit. The whole disc if that would leave nothing."""
    keep = np.ones(disc.shape[axis], bool)
    for vertebra in name.split("-"):
        section = sections.get(vertebra)
        if section is not None and section.any():
            keep &= section >= share * section.max()
    within = _in_slices(disc, keep, axis)
    return within if within.any() else disc


def _sections(mask: np.ndarray, axis: int) -> np.ndarray:
    """Voxels of ``mask`` in each slice along array ``axis``."""
    return mask.sum(axis=tuple(a for a in range(3) if a != axis))


def _in_slices(mask: np.ndarray, keep: np.ndarray, axis: int) -> np.ndarray:
    """``mask`` in the slices along array ``axis`` where ``keep`` (one bool per slice) is true."""
    shape = [1, 1, 1]
    shape[axis] = -1
    return mask & keep.reshape(shape)


def _split_merged(bodies, probs, geometry):
    """A body about twice the typical size is two bodies joined where the disc between them was missed: cut it
    across the spine (LPS z) where it is thinnest, in the middle half of its height. The largest body is compared
    with the median of the others, and cut, until none is that large (two joined pairs would otherwise raise the
    median of all so far that neither looks joined)."""
    out = list(bodies)
    while len(out) >= 3:
        largest = max(out, key=lambda b: b.voxels)
        others = float(np.median([b.voxels for b in out if b is not largest]))
        if largest.voxels < MERGED_FACTOR * others:
            break
        parts = _cut_across(largest, probs, geometry)
        if parts is None:
            break
        out = [b for b in out if b is not largest] + parts
    return sorted(out, key=lambda b: -b.z)


def _cut_across(b, probs, geometry):
    """The two halves of body ``b`` cut across the spine where it is thinnest (None if a half would be empty)."""
    idx = np.argwhere(b.mask)
    z = geometry.index_to_lps(idx)[:, 2]
    lo, hi = np.percentile(z, 25), np.percentile(z, 75)
    step = max(1.0, float(max(geometry.spacing)))  # bins no finer than the voxels, or some stay empty
    edges = np.arange(lo, hi + step, step)
    counts, _ = np.histogram(z, edges)
    cut = float(edges[int(np.argmin(counts))] + step / 2) if len(counts) else float(np.median(z))
    halves = (z >= cut, z < cut)
    if not all(h.any() for h in halves):
        return None
    out = []
    for half in halves:
        m = np.zeros(b.mask.shape, bool)
        m[tuple(idx[half].T)] = True
        out.append(_body(m, probs, geometry))
    return out


def _on_the_column(bodies):
    """Bodies near a smooth curve through the column (antero-posterior position quadratic in height, left-right
    constant); bowel or pelvic pieces taken for bodies lie well in front of it or to the side. The farthest piece is
    dropped until all lie within MAX_OFF_COLUMN_MM."""
    kept, off = list(bodies), []
    while len(kept) >= 4:
        c = np.array([b.centre for b in kept])
        ap_fit = np.polyval(np.polyfit(c[:, 2], c[:, 1], 2 if len(kept) >= 5 else 1), c[:, 2])
        dist = np.hypot(c[:, 1] - ap_fit, c[:, 0] - np.median(c[:, 0]))
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


def _l5_anchor(bodies, disc_z, rep: LevelReport) -> int:
    """Index of the body taken as L5: the most L5-like one, corrected for a sacral piece taken for it."""
    scores = [b.score for b in bodies]
    # the L5 signal also lights up sacral pieces below L5: of the bodies nearly as L5-like as the best, the highest
    anchor = min(k for k, s in enumerate(scores) if s >= L5_TIE_FRACTION * max(scores))
    if scores[anchor] < L5_ANCHOR_MIN_SCORE:
        rep.anchored_on_l5 = False
        return len(bodies) - 1  # no clear L5: assume the lowest body is L5
    if anchor > 0 and anchor == len(bodies) - 1 and scores[anchor - 1] >= L5_ANCHOR_MIN_SCORE \
            and bodies[anchor].voxels < SACRAL_PIECE_FRACTION * bodies[anchor - 1].voxels:
        rep.dropped.append("the sacrum")  # the top of S1, smaller than L5 above it, which looks like L5 too
        return anchor - 1
    # L5 has the L5-S1 disc below it; the sacrum (S1) has none. A "most L5-like" body with no disc below
    # but a disc above is the sacrum: L5 is the body above it.
    if anchor > 0 and not _disc_below(bodies, anchor, disc_z) and _disc_below(bodies, anchor - 1, disc_z):
        rep.dropped.append("the sacrum")
        return anchor - 1
    return anchor


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
