"""Pathology made on real training images: the image and its labels warped or edited together.

The public images are healthy volunteers; the users' patients are not. Each real case can lend a variant with one of:

- **a compressed dural sac** at one disc (a disc bulge or herniation): a smooth displacement along the disc's AP line
  pushes the posterior disc margin back while the sac's posterior wall stays, so the sac narrows on real texture and
  its new AP is known from the old one;
- **a lateral curve** (scoliosis): the sagittal slices shifted left-right along the spine by a smooth C or S curve,
  drifting 5-22 mm (a C curve over a 224 mm image: a Cobb angle of about 9-34 degrees, see :func:`c_curve_drift`);
- **degenerated discs**: discs darkened (loss of nucleus water signal) and thinned (the rows through the disc
  compressed, the bodies next to it stretched to fill).

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
VARIANT_SHARES = {"compressed sac": 0.4, "lateral curve": 0.3, "degenerated discs": 0.3}
SAC_AP_AFTER_MM = (3.0, 12.0)  # the compressed sac's AP diameter at the disc, drawn uniformly
SAC_MIN_SQUEEZE_MM = 1.0  # a variant narrows the sac by at least this much, or is not made
SAC_SITE_MIN_DISC_VOXELS = 40  # a disc's section in the midline slice, to take it as a site
SAC_SEARCH_MM = 30.0  # the sac is looked for this far behind the disc
SITE_STEP_MM = 0.25  # step along a disc's AP line when looking for its margin and the sac
BULGE_ROWS_SIGMA_MM = 5.0  # how far along the spine the displacement reaches (Gaussian sigma)
BULGE_SLICES_SIGMA_MM = 15.0  # and across the sagittal slices: a bulge is broad, the whole sac narrows
BULGE_ANTERIOR_MM = 12.0  # the disc is stretched back from this far in front of its posterior margin
CURVE_SAGITTA_MM = (5.0, 22.0)  # lateral drift of the curve (22 mm over a 224 mm image: Cobb ~34 deg)
DISC_DARKENING = (0.25, 0.7)  # disc signal multiplied by this
DISC_THINNING = (0.45, 0.85)  # disc height multiplied by this
DISC_THINNING_REACH_MM = 20.0  # the rows this far above and below the disc stretch to make up the lost height


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
    return curved(case, sign * sagitta * np.sin(2 * np.pi * waves * rows + phase))


def c_curve_drift(n_rows: int, row_mm: float, cobb_deg: float) -> np.ndarray:
    """Left-right drift (mm) per row of a C curve over the whole image (half a sine wave) whose end tangents meet at
    ``cobb_deg`` (the Cobb angle of a curve spanning the image)."""
    length = (n_rows - 1) * row_mm
    amplitude = length / np.pi * np.tan(np.radians(cobb_deg) / 2)
    return amplitude * np.sin(np.pi * np.arange(n_rows) / max(n_rows - 1, 1))


def curved(case: PreparedCase, drift_mm: np.ndarray) -> PreparedCase:
    """The case with each row's sagittal slices shifted left-right by ``drift_mm`` (one value per row, its mean
    removed so that the spine stays near the middle of the field)."""
    drift_mm = np.asarray(drift_mm, float) - float(np.mean(drift_mm))
    ns = case.image.shape[0]
    src = np.arange(ns, dtype=float)[:, None, None] - (drift_mm / float(case.spacing[0]))[None, :, None]
    image, target = _resample_along(case.image, case.target, np.broadcast_to(src, case.image.shape), axis=0)
    return replace(case, image=image, target=target)


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
}
