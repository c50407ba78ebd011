"""Pathology made on real training images: the image and its labels warped or edited together.

The public images are healthy volunteers; the users' patients are not. Each real case can lend a variant with one of:

- **a compressed dural sac** at one disc (a disc bulge or herniation): a smooth displacement along the AP axis pushes
  the posterior disc margin back while the sac's posterior wall stays, so the sac narrows on real texture and its new
  AP is known from the old one;
- **a lateral curve** (scoliosis): the sagittal slices shifted left-right along the spine by a smooth C or S curve,
  up to a Cobb angle of about 40 degrees;
- **degenerated discs**: discs darkened (loss of nucleus water signal) and thinned (the rows through the disc
  compressed, the bodies next to it stretched to fill).

Arrays are canonical (slices right->left, rows superior->inferior, columns anterior->posterior). Targets are warped
with the nearest value, so partial-label codes keep their meaning; voxels brought in from outside the image are
unknown.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..segment.classes import CANAL, DISC
from .data import UNKNOWN, PreparedCase

# variant kinds and how often each is drawn
VARIANT_SHARES = {"compressed sac": 0.4, "lateral curve": 0.3, "degenerated discs": 0.3}
SAC_AP_AFTER_MM = (3.0, 12.0)  # the compressed sac's AP diameter at the disc, drawn uniformly
SAC_MIN_SQUEEZE_MM = 1.0  # a variant narrows the sac by at least this much, or is not made
SAC_SITE_MIN_DISC_VOXELS = 40  # a disc's section in the midline slice, to take it as a site
SAC_SEARCH_MM = 30.0  # the sac is looked for this far behind the disc
BULGE_ROWS_SIGMA_MM = 5.0  # how far along the spine the displacement reaches (Gaussian sigma)
BULGE_SLICES_SIGMA_MM = 15.0  # and across the sagittal slices: a bulge is broad, the whole sac narrows
BULGE_ANTERIOR_MM = 12.0  # the disc is stretched back from this far in front of its posterior margin
CURVE_SAGITTA_MM = (5.0, 22.0)  # lateral drift of a C curve over the image (40 deg Cobb over 200 mm ~ 17 mm)
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


def compressed_sac(case: PreparedCase, rng, ap_after_mm=None):
    """The case with its sac narrowed at one disc to ``ap_after_mm`` (drawn when None); None where the case has no
    disc with canal behind it in the midline slice. Returns a PreparedCase."""
    site = _sac_site(case, rng)
    if site is None:
        return None
    s0, rc, margin, front, back = site
    col_mm = float(case.spacing[2])
    ap_before = (back - front) * col_mm
    ap_after = float(rng.uniform(*SAC_AP_AFTER_MM)) if ap_after_mm is None else float(ap_after_mm)
    squeeze = (ap_before - ap_after) / col_mm
    if squeeze * col_mm < SAC_MIN_SQUEEZE_MM:
        return None
    ns, nr, nc = case.image.shape
    rows_sigma = BULGE_ROWS_SIGMA_MM / float(case.spacing[1])
    r0, r1 = max(0, int(rc - 3 * rows_sigma)), min(nr, int(rc + 3 * rows_sigma) + 1)
    w_rows = np.exp(-(((np.arange(r0, r1) - rc) / rows_sigma) ** 2))
    w_slices = np.exp(-(((np.arange(ns) - s0) * float(case.spacing[0]) / BULGE_SLICES_SIGMA_MM) ** 2))
    shift = squeeze * w_slices[:, None, None] * w_rows[None, :, None]  # (S, R, 1): how far the front wall moves back
    a = max(0.0, margin - BULGE_ANTERIOR_MM / col_mm)
    x = np.arange(nc, dtype=float)[None, None, :]
    moved_front = front + shift
    # destination column -> source column: the disc stretched back over [a, moved front), the sac squeezed into
    # [moved front, back], the rest unmoved
    stretched = a + (x - a) * (front - a) / np.maximum(moved_front - a, 1e-6)
    squeezed = front + (x - moved_front) * (back - front) / (back - moved_front)
    src = np.where((x >= a) & (x < moved_front), stretched, np.where((x >= moved_front) & (x <= back), squeezed, x))
    image, target = case.image.copy(), case.target.copy()
    image[:, r0:r1], target[:, r0:r1] = _resample_along(case.image[:, r0:r1], case.target[:, r0:r1], src, axis=2)
    return replace(case, image=image, target=target)


def _sac_site(case: PreparedCase, rng):
    """(midline slice, disc centre row, posterior disc margin column, sac front column, sac back column) at a disc
    drawn at random among those with canal behind them, or None."""
    from scipy import ndimage

    canal = case.target == CANAL
    if not canal.any():
        return None
    s0 = int(np.argmax(canal.sum(axis=(1, 2))))
    discs, n = ndimage.label(case.target[s0] == DISC)
    sites = []
    for i in range(1, n + 1):
        rows, cols = np.nonzero(discs == i)
        if len(rows) < SAC_SITE_MIN_DISC_VOXELS:
            continue  # a sliver of a disc cut by the slice
        rc = int(round(rows.mean()))
        margin = int(cols[rows == rc].max()) if (rows == rc).any() else int(cols.max())
        behind = np.nonzero(canal[s0, rc, margin : margin + int(SAC_SEARCH_MM / float(case.spacing[2]))])[0]
        if len(behind) < 3:
            continue
        sites.append((s0, rc, margin, margin + int(behind[0]), margin + int(behind[-1]) + 1))
    return sites[int(rng.integers(len(sites)))] if sites else None


def lateral_curve(case: PreparedCase, rng, sagitta_mm=None):
    """The case with its sagittal slices shifted left-right along the spine: a C curve (half a sine wave over the
    image) or an S curve (a whole one) of ``sagitta_mm`` (drawn when None)."""
    ns, nr, nc = case.image.shape
    sagitta = float(rng.uniform(*CURVE_SAGITTA_MM)) if sagitta_mm is None else float(sagitta_mm)
    waves = 0.5 if rng.random() < 0.6 else 1.0
    phase = float(rng.uniform(0, 2 * np.pi)) if waves == 1.0 else 0.0
    sign = 1.0 if rng.random() < 0.5 else -1.0
    rows = np.arange(nr) / max(nr - 1, 1)
    drift_mm = sign * sagitta * np.sin(2 * np.pi * waves * rows + phase)
    drift_mm -= drift_mm.mean()  # keep the spine near the middle of the field
    src = np.arange(ns, dtype=float)[:, None, None] - (drift_mm / float(case.spacing[0]))[None, :, None]
    src = np.broadcast_to(src, case.image.shape)
    image, target = _resample_along(case.image, case.target, src, axis=0)
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
        soft = ndimage.gaussian_filter((discs == i).astype(np.float32), 1.0)
        image *= 1.0 - (1.0 - float(rng.uniform(*DISC_DARKENING))) * soft
    # thin from the lowest disc up, so the rows of the discs above stay where they were found
    for i in sorted(picked, key=lambda i: -np.nonzero(discs == i)[1].mean()):
        rows = np.nonzero((discs == i).any(axis=(0, 2)))[0]
        image, target = _thinned_rows(image, target, rows.min(), rows.max() + 1, case.spacing, rng)
    return replace(case, image=image, target=target)


def _thinned_rows(image, target, top: int, bottom: int, spacing, rng):
    """Rows [top, bottom) squeezed by a drawn factor, the rows within DISC_THINNING_REACH_MM above and below
    stretched to make up for it (rows further away stay)."""
    nr = image.shape[1]
    reach = DISC_THINNING_REACH_MM / float(spacing[1])
    height = bottom - top
    lost = height * (1.0 - float(rng.uniform(*DISC_THINNING)))
    lo, hi = max(0.0, top - reach), min(float(nr - 1), bottom + reach)
    # destination -> source rows through piecewise-linear knots: (lo, top, bottom, hi) -> (lo, top', bottom', hi)
    knots_dst = [lo, top + lost / 2, bottom - lost / 2, hi]
    knots_src = [lo, float(top), float(bottom), hi]
    dst = np.arange(nr, dtype=float)
    src_rows = np.where((dst >= lo) & (dst <= hi), np.interp(dst, knots_dst, knots_src), dst)
    src = np.broadcast_to(src_rows[None, :, None], image.shape)
    return _resample_along(image, target, src, axis=1)


def _resample_along(image, target, src, axis: int):
    """(image, target) sampled at source coordinates ``src`` (same shape) along ``axis``, the others unchanged:
    linear for the image (zero outside), nearest for the target (UNKNOWN outside)."""
    from scipy import ndimage

    grid = list(np.meshgrid(*[np.arange(n, dtype=float) for n in src.shape], indexing="ij", sparse=True))
    coords = [np.broadcast_to(g, src.shape) for g in grid]
    coords[axis] = src
    new_image = ndimage.map_coordinates(image, coords, order=1, mode="constant", cval=0.0).astype(image.dtype)
    new_target = ndimage.map_coordinates(target, coords, order=0, mode="constant", cval=UNKNOWN).astype(target.dtype)
    return new_image, new_target


MAKERS = {
    "compressed sac": compressed_sac,
    "lateral curve": lateral_curve,
    "degenerated discs": degenerated_discs,
}
