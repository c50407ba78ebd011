"""Pathology made on real training images: the image and its labels warped or edited together.

The public images are healthy volunteers; the users' patients are not. Each real case can lend a variant with one of:

- **a compressed dural sac** at one disc (a disc bulge or herniation): a smooth displacement along the disc's AP line
  pushes the posterior disc margin back while the sac's posterior wall stays, so the sac narrows on real texture and
  its new AP is known from the old one;
- **a lateral curve** (scoliosis): the sagittal slices shifted left-right along the spine by a smooth C or S curve,
  drifting 5-22 mm (a C curve over a 224 mm image: a Cobb angle of about 9-34 degrees, see :func:`c_curve_drift`),
  each level turned about the spine's axis as a scoliotic vertebra is (axial rotation, most at the apex);
- **degenerated discs**: discs darkened (loss of nucleus water signal) and thinned (the rows through the disc
  compressed, the bodies next to it stretched to fill);
- **anterolisthesis**: everything above a disc slid forward along the disc's plane by up to a quarter of its depth
  (Meyerding grade I), the disc sheared between;
- **stronger or flatter lordosis**: the labelled spine's rows pushed forward or back by a smooth arc, most at its
  middle (a shift per row, so the bodies are sheared a little rather than turned).

Arrays are canonical (slices right->left, rows superior->inferior, columns anterior->posterior). Targets are warped
with the nearest value, so partial-label codes keep their meaning; voxels brought in from outside the image are
unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..segment.classes import CANAL, DISC
from .data import MANUAL_DISC_DATASETS, UNKNOWN, PreparedCase

# variant kinds and how often each is drawn
VARIANT_SHARES = {
    "compressed sac": 0.3,
    "lateral curve": 0.25,
    "degenerated discs": 0.2,
    "anterolisthesis": 0.125,
    "lordosis": 0.125,
}
SAC_AP_AFTER_MM = (3.0, 12.0)  # the compressed sac's AP diameter at the disc, drawn uniformly
SAC_MIN_SQUEEZE_MM = 1.0  # a variant narrows the sac by at least this much, or is not made
SAC_SITE_MIN_DISC_VOXELS = 40  # a disc's section in the midline slice, to take it as a site
SAC_SEARCH_MM = 30.0  # the sac is looked for this far behind the disc
SITE_STEP_MM = 0.25  # step along a disc's AP line when looking for its margin and the sac
BULGE_ROWS_SIGMA_MM = 5.0  # how far along the spine the displacement reaches (Gaussian sigma)
BULGE_SLICES_SIGMA_MM = 15.0  # and across the sagittal slices: a bulge is broad, the whole sac narrows
BULGE_ANTERIOR_MM = 12.0  # the disc is stretched back from this far in front of its posterior margin
CURVE_SAGITTA_MM = (5.0, 22.0)  # lateral drift of the curve (22 mm over a 224 mm image: Cobb ~34 deg)
# Axial rotation of the apical vertebra per degree of Cobb angle. In idiopathic and degenerative curves it grows with
# the Cobb angle, roughly 0.3-0.6 degree per degree (a 40-degree curve: an apex turned about 12-24 degrees); the
# benchmarks use the middle value, training draws from the range.
APICAL_ROTATION_PER_COBB = 0.45
APICAL_ROTATION_PER_COBB_RANGE = (0.3, 0.6)
ROTATION_CENTRE_SMOOTHING_MM = 20.0  # the axis a level turns about follows the spine, not each row's label noise
DISC_DARKENING = (0.25, 0.7)  # disc signal multiplied by this
DISC_THINNING = (0.45, 0.85)  # disc height multiplied by this
DISC_THINNING_REACH_MM = 20.0  # the rows this far above and below the disc stretch to make up the lost height
SLIP_SHARE = (0.05, 0.25)  # anterolisthesis: the slip as a share of the disc's depth (about the body's)
SLIP_MIN_DISC_VOXELS = 200  # a disc this small (a fragment) is not slipped at
LORDOSIS_SAGITTA_MM = (-12.0, 12.0)  # forward (+, stronger) or back (-, flatter) at the middle: about +-24 degrees


def pathology_variants(cases: list[PreparedCase], seed: int) -> list[PreparedCase]:
    """One variant per real case where one can be made (dataset "variant"), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    kinds = list(VARIANT_SHARES)
    shares = np.array(list(VARIANT_SHARES.values()))
    out = []
    for case in cases:
        kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
        made = MAKERS[kind](case, rng)
        if made is not None:
            out.append(replace(made, name=f"{case.name}+{kind}", dataset="variant", annotated_slices=None))
    return out


def degenerated_manual_discs(cases: list[PreparedCase], per_case: int, seed: int) -> list[PreparedCase]:
    """``per_case`` degenerated-disc variants of every case whose discs a reader outlined (dataset "variant"),
    deterministic for a seed. The random variants above thin mostly derived discs, which fill the whole gap between
    the bodies; these show the network thinned discs drawn to the readers' convention too."""
    rng = np.random.default_rng([seed, per_case])
    out = []
    for case in cases:
        if case.dataset not in MANUAL_DISC_DATASETS:
            continue
        for k in range(per_case):
            made = degenerated_discs(case, rng)
            if made is not None:
                out.append(
                    replace(made, name=f"{case.name}+degenerated {k + 1}", dataset="variant", annotated_slices=None)
                )
    return out


@dataclass(frozen=True)
class SacSite:
    """Where a disc meets the sac, in the midline sagittal slice: ``point`` (row, column) on the disc's posterior margin
    on the line through its centroid along ``ap`` (unit, in mm per mm along (row, column), pointing posterior: the
    disc's long axis in that slice), and the sac's front and back along that line (mm from ``point``)."""

    slice: int
    point: tuple
    ap: tuple
    front_mm: float
    back_mm: float

    @property
    def ap_mm(self) -> float:
        return self.back_mm - self.front_mm


def compressed_sac(case: PreparedCase, rng, ap_after_mm=None):
    """The case with its sac narrowed at a disc drawn at random to ``ap_after_mm`` (drawn when None); None where the
    case has no disc with the sac behind it in the midline slice, or the sac is already that narrow."""
    sites = sac_sites(case)
    if not sites:
        return None
    site = sites[int(rng.integers(len(sites)))]
    ap_after = float(rng.uniform(*SAC_AP_AFTER_MM)) if ap_after_mm is None else float(ap_after_mm)
    if site.ap_mm - ap_after < SAC_MIN_SQUEEZE_MM:
        return None
    return compress_sac_at(case, site, site.ap_mm - ap_after)


def compress_sac_at(case: PreparedCase, site: SacSite, squeeze_mm: float) -> PreparedCase:
    """The case with the sac's front wall at ``site`` pushed back by ``squeeze_mm`` along the site's AP line (the
    disc stretched behind it, the sac's back wall kept), fading out along the spine and across the slices."""
    spacing = np.asarray(case.spacing, float)
    ns, nr, nc = case.image.shape
    ap = np.asarray(site.ap)
    along = np.array([-ap[1], ap[0]])  # the spine's axis in the slice
    reach = int(np.ceil((3 * BULGE_ROWS_SIGMA_MM + site.back_mm + BULGE_ANTERIOR_MM) / spacing[1]))
    r0, r1 = max(0, int(site.point[0]) - reach), min(nr, int(site.point[0]) + reach + 1)
    rows, cols = np.meshgrid(np.arange(r0, r1, dtype=float), np.arange(nc, dtype=float), indexing="ij")
    d = np.stack([(rows - site.point[0]) * spacing[1], (cols - site.point[1]) * spacing[2]])  # (2, R, C) mm
    t = np.tensordot(ap, d, axes=1)  # posterior distance from the margin point
    u = np.tensordot(along, d, axes=1)
    w_slices = np.exp(-(((np.arange(ns) - site.slice) * spacing[0] / BULGE_SLICES_SIGMA_MM) ** 2))
    shift = squeeze_mm * w_slices[:, None, None] * np.exp(-((u / BULGE_ROWS_SIGMA_MM) ** 2))[None]
    t_src = _squeezed_sac_source(np.broadcast_to(t, shift.shape), site.front_mm, site.back_mm, shift)
    moved = t_src - t  # (S, R, C) mm along ap
    coords = [
        np.broadcast_to(np.arange(ns, dtype=float)[:, None, None], shift.shape),
        rows[None] + moved * ap[0] / spacing[1],
        cols[None] + moved * ap[1] / spacing[2],
    ]
    image, target = case.image.copy(), case.target.copy()
    image[:, r0:r1], target[:, r0:r1] = _resample_at(case.image, case.target, coords)
    return replace(case, image=image, target=target)


def _squeezed_sac_source(t, front, back, shift):
    """Destination -> source distance along the AP line: the disc stretched back over [-BULGE_ANTERIOR_MM, front +
    shift), the sac squeezed into [front + shift, back], the rest unmoved."""
    a = -BULGE_ANTERIOR_MM
    moved_front = front + shift
    stretched = a + (t - a) * (front - a) / np.maximum(moved_front - a, 1e-6)
    squeezed = front + (t - moved_front) * (back - front) / np.maximum(back - moved_front, 1e-6)
    return np.where((t >= a) & (t < moved_front), stretched, np.where((t >= moved_front) & (t <= back), squeezed, t))


def sac_sites(case: PreparedCase) -> list[SacSite]:
    """The discs of the midline slice (the one with the most canal) with the sac behind them, cranial to caudal."""
    from scipy import ndimage

    canal = case.target == CANAL
    if not canal.any():
        return []
    s0 = int(np.argmax(canal.sum(axis=(1, 2))))
    discs, n = ndimage.label(case.target[s0] == DISC)
    sites = []
    for i in range(1, n + 1):
        site = _site_of(discs == i, canal[s0], s0, np.asarray(case.spacing[1:], float))
        if site is not None:
            sites.append(site)
    return sorted(sites, key=lambda site: site.point[0])


def _site_of(disc: np.ndarray, canal: np.ndarray, s0: int, spacing_2d) -> SacSite | None:
    rows, cols = np.nonzero(disc)
    if len(rows) < SAC_SITE_MIN_DISC_VOXELS:
        return None  # a sliver of a disc cut by the slice
    xy = np.c_[rows * spacing_2d[0], cols * spacing_2d[1]]
    centre = xy.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((xy - centre).T))
    ap = vectors[:, -1] * (1.0 if vectors[1, -1] >= 0 else -1.0)  # the long axis, pointing posterior
    steps = np.arange(0.0, 60.0 + SAC_SEARCH_MM, SITE_STEP_MM)
    idx = np.round((centre[None] + steps[:, None] * ap[None]) / spacing_2d).astype(int)
    ok = (idx >= 0).all(axis=1) & (idx[:, 0] < disc.shape[0]) & (idx[:, 1] < disc.shape[1])
    idx, steps = idx[ok], steps[ok]
    in_disc = disc[idx[:, 0], idx[:, 1]]
    if not in_disc.any():
        return None
    margin = steps[np.nonzero(in_disc)[0].max()]
    behind = (steps > margin) & (steps <= margin + SAC_SEARCH_MM) & canal[idx[:, 0], idx[:, 1]]
    if behind.sum() * SITE_STEP_MM < 3.0:
        return None  # under 3 mm of sac behind the disc: none to narrow
    point = (centre + margin * ap) / spacing_2d
    front, back = steps[behind].min() - margin, steps[behind].max() + SITE_STEP_MM - margin
    return SacSite(s0, (float(point[0]), float(point[1])), (float(ap[0]), float(ap[1])), float(front), float(back))


def lateral_curve(case: PreparedCase, rng, sagitta_mm=None):
    """The case with its sagittal slices shifted left-right along the spine: a C curve (half a sine wave over the
    image) or an S curve (a whole one) of ``sagitta_mm`` (drawn when None)."""
    nr = case.image.shape[1]
    sagitta = float(rng.uniform(*CURVE_SAGITTA_MM)) if sagitta_mm is None else float(sagitta_mm)
    waves = 0.5 if rng.random() < 0.6 else 1.0
    phase = float(rng.uniform(0, 2 * np.pi)) if waves == 1.0 else 0.0
    sign = 1.0 if rng.random() < 0.5 else -1.0
    rows = np.arange(nr) / max(nr - 1, 1)
    drift = sign * sagitta * np.sin(2 * np.pi * waves * rows + phase)
    rotation = float(rng.uniform(*APICAL_ROTATION_PER_COBB_RANGE)) * cobb_angle(drift, float(case.spacing[1]))
    return curved(case, drift, rotation)


def cobb_angle(drift_mm: np.ndarray, row_mm: float) -> float:
    """The Cobb angle (degrees) of a lateral drift profile: the angle between its two most tilted tangents."""
    tilt = np.degrees(np.arctan(np.gradient(np.asarray(drift_mm, float), row_mm)))
    return float(tilt.max() - tilt.min())


def c_curve_drift(n_rows: int, row_mm: float, cobb_deg: float) -> np.ndarray:
    """Left-right drift (mm) per row of a C curve over the whole image (half a sine wave) whose end tangents meet at
    ``cobb_deg`` (the Cobb angle of a curve spanning the image)."""
    length = (n_rows - 1) * row_mm
    amplitude = length / np.pi * np.tan(np.radians(cobb_deg) / 2)
    return amplitude * np.sin(np.pi * np.arange(n_rows) / max(n_rows - 1, 1))


def curved(case: PreparedCase, drift_mm: np.ndarray, apical_rotation_deg: float = 0.0) -> PreparedCase:
    """The case with each row's sagittal slices shifted left-right by ``drift_mm`` (one value per row, its mean
    removed so that the spine stays near the middle of the field) and, with ``apical_rotation_deg``, each row turned
    in its axial plane about the spine's axis: by that angle where the curve reaches furthest (its apex), less in
    proportion towards the neutral ends, the front of the body turning towards the convex side."""
    drift_mm = np.asarray(drift_mm, float)
    shift = drift_mm - float(np.mean(drift_mm))
    if not apical_rotation_deg:
        return _rows_moved(case, shift, axis=0)
    reach = float(np.abs(drift_mm).max()) or 1.0
    turn = np.radians(apical_rotation_deg) * drift_mm / reach
    return replace(case, **dict(zip(("image", "target"), _turned_and_shifted(case, shift, turn))))


def _turned_and_shifted(case: PreparedCase, shift_mm: np.ndarray, turn_rad: np.ndarray):
    """(image, target): each row's axial plane (slices x columns) turned by ``turn_rad`` about the spine's axis, then
    shifted left-right by ``shift_mm``. Sampled destination -> source: undo the shift, then the turn."""
    ns, nr, nc = case.image.shape
    sp_s, sp_c = float(case.spacing[0]), float(case.spacing[2])
    centre_s, centre_c = _spine_axis_mm(case)
    x = (np.arange(ns) * sp_s)[:, None, None] - (shift_mm + centre_s)[None, :, None]  # left-right, mm from the axis
    y = (np.arange(nc) * sp_c)[None, None, :] - centre_c[None, :, None]  # anterior-posterior
    cos, sin = np.cos(turn_rad)[None, :, None], np.sin(turn_rad)[None, :, None]
    src_s = (x * cos + y * sin + centre_s[None, :, None]) / sp_s
    src_c = (-x * sin + y * cos + centre_c[None, :, None]) / sp_c
    rows = np.arange(nr, dtype=float)[None, :, None]
    shape = case.image.shape
    return _resample_at(case.image, case.target, [np.broadcast_to(a, shape) for a in (src_s, rows, src_c)])


def _spine_axis_mm(case: PreparedCase) -> tuple[np.ndarray, np.ndarray]:
    """(left-right, anterior-posterior) position (mm) of the spine's axis in each row: the centroid of the labelled
    structures there, carried to rows without labels and smoothed along the spine; the image's centre without any."""
    from scipy import ndimage

    ns, nr, nc = case.image.shape
    labelled = case.target > 0
    counts = labelled.sum(axis=(0, 2)).astype(float)
    if not counts.any():
        return np.full(nr, (ns - 1) / 2 * case.spacing[0]), np.full(nr, (nc - 1) / 2 * case.spacing[2])
    s_idx, r_idx, c_idx = np.nonzero(labelled)
    has = counts > 0
    out = []
    for idx, spacing in ((s_idx, case.spacing[0]), (c_idx, case.spacing[2])):
        per_row = np.bincount(r_idx, weights=idx * float(spacing), minlength=nr)[has] / counts[has]
        filled = np.interp(np.arange(nr), np.nonzero(has)[0], per_row)
        out.append(ndimage.uniform_filter1d(filled, max(1, int(ROTATION_CENTRE_SMOOTHING_MM / case.spacing[1]))))
    return out[0], out[1]


def degenerated_discs(case: PreparedCase, rng):
    """The case with one to three discs darkened and thinned; None where it has no disc label."""
    from scipy import ndimage

    discs, n = ndimage.label(case.target == DISC)
    if n == 0:
        return None
    picked = rng.choice(np.arange(1, n + 1), size=min(n, int(rng.integers(1, 4))), replace=False)
    image, target = case.image.copy(), case.target
    for i in picked:
        image = _darkened(image, discs == i, float(rng.uniform(*DISC_DARKENING)))
    # thin from the lowest disc up, so the rows of the discs above stay where they were found
    for i in sorted(picked, key=lambda i: -np.nonzero(discs == i)[1].mean()):
        rows = np.nonzero((discs == i).any(axis=(0, 2)))[0]
        thinning = float(rng.uniform(*DISC_THINNING))
        image, target = _thinned_rows(image, target, rows.min(), rows.max() + 1, case.spacing, thinning)
    return replace(case, image=image, target=target)


def degenerate_disc(case: PreparedCase, disc: np.ndarray, darkening: float, thinning: float) -> PreparedCase:
    """The case with the disc ``disc`` (a mask) darkened by ``darkening`` and its rows squeezed by ``thinning``."""
    rows = np.nonzero(disc.any(axis=(0, 2)))[0]
    image = _darkened(case.image, disc, darkening)
    image, target = _thinned_rows(image, case.target, rows.min(), rows.max() + 1, case.spacing, thinning)
    return replace(case, image=image, target=target)


def anterolisthesis(case: PreparedCase, rng, share=None):
    """The case slipped forward at a disc drawn at random by ``share`` (drawn when None) of the disc's depth; None
    where it has no disc label."""
    from scipy import ndimage

    discs, n = ndimage.label(case.target == DISC)
    sizes = np.bincount(discs.ravel(), minlength=n + 1)[1:]
    usable = np.nonzero(sizes >= SLIP_MIN_DISC_VOXELS)[0] + 1
    if not len(usable):
        return None
    plane = disc_plane(discs == int(rng.choice(usable)), case.spacing)
    share = float(rng.uniform(*SLIP_SHARE)) if share is None else float(share)
    return slipped(case, plane, share * plane.depth_mm)


@dataclass(frozen=True)
class DiscPlane:
    """A disc's mid-plane in the sagittal plane: ``centre`` (row, column) mm, unit ``normal`` (row, column) pointing
    superior, unit ``forward`` along the plane pointing anterior; the disc's height and depth (mm)."""

    centre: tuple
    normal: tuple
    forward: tuple
    height_mm: float
    depth_mm: float


def disc_plane(disc: np.ndarray, spacing) -> DiscPlane:
    """The mid-plane of a disc mask (its voxels in every slice projected on the sagittal plane): the disc is flat, so
    its thinnest direction is the normal."""
    _, r, c = np.nonzero(disc)
    pts = np.c_[r * float(spacing[1]), c * float(spacing[2])]
    centre = pts.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((pts - centre).T))
    normal = vectors[:, 0] * (-1.0 if vectors[0, 0] > 0 else 1.0)  # rows grow towards the feet
    forward = np.array([normal[1], -normal[0]])
    forward *= -1.0 if forward[1] > 0 else 1.0  # columns grow towards the back
    across, along = (pts - centre) @ normal, (pts - centre) @ forward
    height = float(np.percentile(across, 95) - np.percentile(across, 5))
    depth = float(np.percentile(along, 98) - np.percentile(along, 2))
    return DiscPlane(tuple(centre), tuple(normal), tuple(forward), height, depth)


def slipped(case: PreparedCase, plane: DiscPlane, slip_mm: float) -> PreparedCase:
    """The case with everything above ``plane`` moved ``slip_mm`` forward along it, the shear spread smoothly over the
    disc's height (a displacement along the plane leaves each point's height above it unchanged, so the way back is
    exact)."""
    ns, nr, nc = case.image.shape
    sp_r, sp_c = float(case.spacing[1]), float(case.spacing[2])
    rows, cols = np.meshgrid(np.arange(nr) * sp_r, np.arange(nc) * sp_c, indexing="ij")
    above = (rows - plane.centre[0]) * plane.normal[0] + (cols - plane.centre[1]) * plane.normal[1]
    w = np.clip(above / max(plane.height_mm, 1.0) + 0.5, 0.0, 1.0)
    moved = slip_mm * w * w * (3.0 - 2.0 * w)  # smoothstep: 0 below the disc, the whole slip above it
    src_r = (rows - moved * plane.forward[0]) / sp_r
    src_c = (cols - moved * plane.forward[1]) / sp_c
    slices = np.arange(ns, dtype=float)[:, None, None]
    shape = case.image.shape
    image, target = _resample_at(case.image, case.target, [np.broadcast_to(a, shape) for a in (slices, src_r, src_c)])
    return replace(case, image=image, target=target)


def lordosis(case: PreparedCase, rng, sagitta_mm=None):
    """The case with its labelled rows pushed forward (stronger lordosis, ``sagitta_mm`` > 0) or back (flatter) by
    half a sine wave over them, ``sagitta_mm`` (drawn when None) at the middle; None where nothing is labelled."""
    labelled = np.nonzero((case.target > 0).any(axis=(0, 2)))[0]
    if len(labelled) < 2:
        return None
    sagitta = float(rng.uniform(*LORDOSIS_SAGITTA_MM)) if sagitta_mm is None else float(sagitta_mm)
    return bent_forward(case, lordosis_drift(case.image.shape[1], labelled[0], labelled[-1], sagitta))


def lordosis_drift(n_rows: int, first: int, last: int, sagitta_mm: float) -> np.ndarray:
    """Forward drift (mm) per row: half a sine wave from row ``first`` to ``last``, none outside."""
    rows = np.arange(n_rows, dtype=float)
    phase = np.clip((rows - first) / max(last - first, 1), 0.0, 1.0)
    return sagitta_mm * np.sin(np.pi * phase)


def bent_forward(case: PreparedCase, drift_mm: np.ndarray) -> PreparedCase:
    """The case with each row moved forward (towards lower columns) by ``drift_mm`` (one value per row)."""
    return _rows_moved(case, -np.asarray(drift_mm, float), axis=2)


def _rows_moved(case: PreparedCase, move_mm: np.ndarray, axis: int) -> PreparedCase:
    """The case with each row's content moved by ``move_mm`` (one value per row) along ``axis`` (0: left-right
    across the slices, 2: anterior-posterior)."""
    n = case.image.shape[axis]
    index = np.arange(n, dtype=float).reshape([-1 if a == axis else 1 for a in range(3)])
    src = index - (np.asarray(move_mm, float) / float(case.spacing[axis]))[None, :, None]
    image, target = _resample_along(case.image, case.target, np.broadcast_to(src, case.image.shape), axis=axis)
    return replace(case, image=image, target=target)


def _darkened(image: np.ndarray, disc: np.ndarray, factor: float) -> np.ndarray:
    from scipy import ndimage

    soft = ndimage.gaussian_filter(disc.astype(np.float32), 1.0)  # no hard edge for the network to learn
    return image * (1.0 - (1.0 - factor) * soft)


def _thinned_rows(image, target, top: int, bottom: int, spacing, thinning: float):
    """Rows [top, bottom) squeezed by ``thinning``, the rows within DISC_THINNING_REACH_MM above and below stretched to
    make up for it (rows further away stay)."""
    nr = image.shape[1]
    reach = DISC_THINNING_REACH_MM / float(spacing[1])
    lost = (bottom - top) * (1.0 - thinning)
    lo, hi = max(0.0, top - reach), min(float(nr - 1), bottom + reach)
    # destination -> source rows through piecewise-linear knots: (lo, top, bottom, hi) -> (lo, top', bottom', hi)
    knots_dst = [lo, top + lost / 2, bottom - lost / 2, hi]
    knots_src = [lo, float(top), float(bottom), hi]
    dst = np.arange(nr, dtype=float)
    src_rows = np.where((dst >= lo) & (dst <= hi), np.interp(dst, knots_dst, knots_src), dst)
    return _resample_along(image, target, np.broadcast_to(src_rows[None, :, None], image.shape), axis=1)


def _resample_along(image, target, src, axis: int):
    """(image, target) sampled at source coordinates ``src`` (same shape) along ``axis``, the others unchanged."""
    grid = list(np.meshgrid(*[np.arange(n, dtype=float) for n in src.shape], indexing="ij", sparse=True))
    coords = [np.broadcast_to(g, src.shape) for g in grid]
    coords[axis] = src
    return _resample_at(image, target, coords)


def _resample_at(image, target, coords):
    """(image, target) sampled at the source coordinates ``coords`` (one array per axis): linear for the image (zero
    outside), nearest for the target (UNKNOWN outside)."""
    from scipy import ndimage

    new_image = ndimage.map_coordinates(image, coords, order=1, mode="constant", cval=0.0).astype(image.dtype)
    new_target = ndimage.map_coordinates(target, coords, order=0, mode="constant", cval=UNKNOWN).astype(target.dtype)
    return new_image, new_target


MAKERS = {
    "compressed sac": compressed_sac,
    "lateral curve": lateral_curve,
    "degenerated discs": degenerated_discs,
    "anterolisthesis": anterolisthesis,
    "lordosis": lordosis,
}
