"""Labels derived from anatomy where the data has none (kept here so every derived label is reproducible).

- Discs between consecutive annotated vertebral bodies (a disc lies between its two vertebrae).
- The dural sac behind the annotated column (T2-like images), by one of two rules (:mod:`.sac_rules`): its
  first bright run of CSF (the shipped 3.0.0 learned this), or that CSF and the grey cord and roots inside it.

Arrays are canonical (slices right->left, rows superior->inferior, columns anterior->posterior);
``spacing`` is the canonical voxel size in mm.
"""

from __future__ import annotations

import numpy as np

from .. import anatomy
from .sac_rules import BRIGHT_RUN, SacLabelRule

MAX_DISC_GAP_MM = 25.0
CANAL_SEARCH_MM = 28.0  # how far behind the column the canal may end
CANAL_START_MM = 7.0  # the canal must start this close behind the column (posterior ligament + dura)
CANAL_HALF_WIDTH_MM = 7.0  # slices this close to the midline are searched
CANAL_MAX_HALF_WIDTH_MM = 16.0  # beyond this from the midline there is no canal
# a sac's posterior end may lie this far behind its neighbours' before it counts as a spike into the fat (the window
# and percentile it is judged against belong to the sac label rule, sac_rules.SacLabelRule)
SAC_WALL_TOLERANCE_MM = 1.5
# Inside the sac lie the conus and the cauda equina, grey on T2 (0.35-0.7 of the CSF signal, on pictures of ivd-011 and
# vb2-008; supine, the roots settle against the posterior wall); the dura with the ligamentum flavum or bone behind it
# is dark (0.02-0.3 of CSF). So the with-roots sac goes on from its first bright voxel through grey ones, over single
# darker voxels (noise, a thin root gap), and ends at the first two in a row below SAC_GREY_FRACTION of the CSF level.
SAC_GREY_FRACTION = 0.4
SAC_MAX_AP_MM = 25.0  # no sac is deeper; a run that gets there found no wall


def derive_discs_between_bodies(bodies: dict, spacing) -> dict:
    """{disc name: mask} for each pair of consecutive annotated bodies, slice by slice.

    In each sagittal slice the gap between the lower endplate of the upper body and the upper endplate of
    the lower body is filled along the axis joining the two bodies' centroids.
    """
    out = {}
    for disc in anatomy.discs():
        if disc.upper in bodies and disc.lower in bodies:
            mask = np.zeros_like(bodies[disc.upper], dtype=bool)
            for s in range(mask.shape[0]):
                a, b = bodies[disc.upper][s], bodies[disc.lower][s]
                if a.any() and b.any():
                    mask[s] = _gap_between(a, b, spacing[1:])
            if mask.any():
                out[disc.name] = mask
    return out


def _gap_between(upper: np.ndarray, lower: np.ndarray, spacing_2d) -> np.ndarray:
    sr, sc = float(spacing_2d[0]), float(spacing_2d[1])
    ra, ca = np.nonzero(upper)
    rb, cb = np.nonzero(lower)
    pa = np.c_[ra * sr, ca * sc]
    pb = np.c_[rb * sr, cb * sc]
    u = pb.mean(0) - pa.mean(0)
    if np.linalg.norm(u) < 1e-6:
        return np.zeros_like(upper)
    u /= np.linalg.norm(u)
    v = np.array([-u[1], u[0]])
    step = min(sr, sc)
    # bounding box of both bodies
    r0, r1 = min(ra.min(), rb.min()), max(ra.max(), rb.max()) + 1
    c0, c1 = min(ca.min(), cb.min()), max(ca.max(), cb.max()) + 1
    rr, cc = np.mgrid[r0:r1, c0:c1]
    pts = np.c_[rr.ravel() * sr, cc.ravel() * sc]
    vmin = min((pa @ v).min(), (pb @ v).min())
    nbins = int(np.ceil(((max((pa @ v).max(), (pb @ v).max())) - vmin) / step)) + 2
    bottom_a = np.full(nbins, -np.inf)
    top_b = np.full(nbins, np.inf)
    np.maximum.at(bottom_a, ((pa @ v - vmin) / step).astype(int), pa @ u)
    np.minimum.at(top_b, ((pb @ v - vmin) / step).astype(int), pb @ u)
    bins = np.clip(((pts @ v - vmin) / step).astype(int), 0, nbins - 1)
    pu = pts @ u
    inside = (pu > bottom_a[bins]) & (pu < top_b[bins]) & (top_b[bins] - bottom_a[bins] < MAX_DISC_GAP_MM)
    out = np.zeros_like(upper)
    out[r0:r1, c0:c1] = inside.reshape(rr.shape)
    return out & ~upper & ~lower


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=128)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centers) - np.cumsum(hist * centers)) / np.maximum(w1, 1)
    return float(centers[np.argmax(w0 * w1 * (m0 - m1) ** 2)])


def _first_bright_run(bright: np.ndarray, start: int):
    """(first, end) of the first bright run starting within ``start`` voxels, or None."""
    from scipy import ndimage

    bright = ndimage.binary_closing(bright, structure=np.ones(3, bool)) | bright
    hits = np.nonzero(bright[:start])[0]
    if len(hits) == 0:
        return None
    i0 = i1 = int(hits[0])
    while i1 < len(bright) and bright[i1]:
        i1 += 1
    return i0, i1


def _sac_run(profile: np.ndarray, first: int, grey: float, max_length: int):
    """(first, end) of the sac along a row: from its first bright voxel ``first`` on through voxels at least ``grey``
    (CSF, cord, roots) and over single voxels below it, up to ``max_length`` voxels. (Not the bright run's own end:
    its closing bridges two dark voxels, a dura between CSF and fat.)"""
    end = first
    limit = min(len(profile), first + max_length)
    while end < limit:
        if profile[end] >= grey:
            end += 1
        elif end + 1 < limit and profile[end + 1] >= grey:
            end += 2
        else:
            break
    return first, end


def _without_posterior_spikes(runs: list, row_mm: float, rule: SacLabelRule = BRIGHT_RUN) -> list:
    """The runs with their posterior ends cut back to what the neighbouring rows reach.

    Behind the sac at each disc level lies epidural fat, as bright as CSF on T2 and water-fat images: the bright run
    goes on into it there and the canal grew spikes backwards. The dural sac's posterior wall is smooth along the
    spine and only moves forward at a narrowing, so an end deeper than the lower part of its neighbours' ends
    (the rule's wall percentile over +- its wall window) by more than SAC_WALL_TOLERANCE_MM is cut back to it.
    """
    ends = np.array([np.nan if r is None else r[1] for r in runs])
    half = max(1, int(round(rule.wall_window_mm / row_mm)))
    tolerance = SAC_WALL_TOLERANCE_MM / row_mm
    out = []
    for i, run in enumerate(runs):
        near = ends[max(0, i - half) : i + half + 1]
        near = near[~np.isnan(near)]
        if run is None or len(near) == 0:
            out.append(run)
            continue
        limit = int(np.ceil(np.percentile(near, rule.wall_percentile) + tolerance))
        out.append((run[0], max(run[0] + 1, min(run[1], limit))))
    return out


def derive_canal(
    image: np.ndarray, spine: np.ndarray, spacing, rule: SacLabelRule = BRIGHT_RUN
) -> tuple[np.ndarray, np.ndarray]:
    """(canal mask, region where the canal is known): the dural sac behind the annotated column.

    Near the midline, for each row (superior->inferior) covered by the column, the sac starts at the first bright
    voxel (above an Otsu threshold of the region behind the column) within CANAL_START_MM of the column's posterior
    edge. It ends where that bright run ends, or, with ``rule.through_grey``, goes on through CSF, cord and roots to
    the dark wall behind them (:func:`_sac_run`); its posterior end is cut back where it runs into epidural fat
    (:func:`_without_posterior_spikes`). The known region is where the absence of canal can be asserted: those rows
    near the midline, and every slice far lateral of it.
    """
    from scipy import ndimage

    canal = np.zeros(image.shape, bool)
    known = np.zeros(image.shape, bool)
    counts = spine.sum(axis=(1, 2)).astype(float)
    if counts.sum() == 0:
        return canal, known
    s0 = int(round(float((np.arange(len(counts)) * counts).sum() / counts.sum())))
    ss, sr, sc = (float(x) for x in spacing)
    offsets = np.abs(np.arange(image.shape[0]) - s0) * ss
    known[offsets > CANAL_MAX_HALF_WIDTH_MM] = True
    band = np.nonzero(offsets <= CANAL_HALF_WIDTH_MM)[0]
    search = int(round(CANAL_SEARCH_MM / sc))
    start = int(round(CANAL_START_MM / sc))
    # posterior edge of the column per row, on the midline slice band (union), smoothed
    column = spine[band].any(axis=0)
    rows = np.nonzero(column.any(axis=1))[0]
    if len(rows) < 10:
        return canal, known
    post = np.array([np.nonzero(column[r])[0].max() for r in rows], float)
    # the posterior wall is smooth: take the envelope over +-4 mm of rows (a disc's rim rows only reach
    # part-way back), then interpolate across rows without annotation and smooth
    window = 4.0 / sr
    post = np.array([post[np.abs(rows - r) <= window].max() for r in rows])
    r_all = np.arange(rows.min(), rows.max() + 1)
    post_all = ndimage.median_filter(np.interp(r_all, rows, post), size=9, mode="nearest").round().astype(int)
    roi_values = []
    for s in band:
        for r, p in zip(r_all, post_all):
            roi_values.append(image[s, r, p + 1 : p + 1 + search])
    threshold = _otsu(np.concatenate(roi_values))
    bright_runs = [
        [_first_bright_run(image[s, r, p + 1 : p + 1 + search] > threshold, start) for r, p in zip(r_all, post_all)]
        for s in band
    ]
    if not rule.through_grey:
        sac_runs = bright_runs
    else:
        sac_runs = _through_grey(image, band, r_all, post_all, bright_runs, threshold, (sr, sc), search)
    for s, runs in zip(band, sac_runs):
        for r, p, run in zip(r_all, post_all, _without_posterior_spikes(runs, sr, rule)):
            if run is None:
                continue  # not found in this row: leave it unknown rather than assert "no canal"
            known[s, r, :] = True
            canal[s, r, p + 1 + run[0] : p + 1 + run[1]] = True
    # one smooth tube: largest 3D component, small holes closed slice by slice
    lab, n = ndimage.label(canal)
    if n > 1:
        sizes = ndimage.sum(canal, lab, range(1, n + 1))
        canal = lab == (1 + int(np.argmax(sizes)))
    for s in band:
        canal[s] = ndimage.binary_closing(canal[s], structure=np.ones((5, 1), bool)) | canal[s]
    return canal, known


def _through_grey(image, band, r_all, post_all, bright_runs, threshold: float, row_col_mm, search: int) -> list:
    """Each slice's runs (as ``bright_runs``) carried on from their first bright voxel through the grey cord and roots
    to the sac's dark wall (:func:`_sac_run`)."""
    from scipy import ndimage

    sr, sc = row_col_mm
    # the CSF level: the median of those runs (the threshold where none is found)
    csf = [
        image[s, r, p + 1 + run[0] : p + 1 + run[1]]
        for s, runs in zip(band, bright_runs)
        for r, p, run in zip(r_all, post_all, runs)
        if run is not None
    ]
    grey = SAC_GREY_FRACTION * (float(np.median(np.concatenate(csf))) if csf else threshold)
    # noise along a row can dip a root below the grey level; the sac's layers run along the spine, so smooth that way
    smooth = ndimage.gaussian_filter1d(image[band].astype(np.float32), 1.0 / sr, axis=1)
    max_length = int(round(SAC_MAX_AP_MM / sc))
    return [
        [
            None if run is None else _sac_run(smoothed[r, p + 1 : p + 1 + search], run[0], grey, max_length)
            for r, p, run in zip(r_all, post_all, runs)
        ]
        for smoothed, runs in zip(smooth, bright_runs)
    ]


S1_DEPTH_MM = 12.0  # how far below the L5-S1 disc the S1 label reaches (the S1 body is about 25-30 mm tall)
S1_RIM_SHARE = 0.1  # the disc's front and back tenth, where its lower surface bends towards the body's rim, skipped
S1_MIN_SLICE_SHARE = 0.3  # sagittal slices whose disc section is smaller than this share of the largest are left out


def derive_s1_below_disc(disc: np.ndarray, spacing, depth_mm: float = S1_DEPTH_MM) -> np.ndarray:
    """The upper part of the S1 body: in each sagittal slice, what lies within ``depth_mm`` below the L5-S1 disc's
    lower surface along the disc's normal (one normal for all slices: the thinnest axis of the disc's sagittal
    projection), under the disc's central AP span. Canonical layout (slices, rows superior->inferior, columns A->P)."""
    s1 = np.zeros(disc.shape, bool)
    pts = np.argwhere(disc)
    if len(pts) < 50:
        return s1
    mm = np.asarray(spacing[1:], float)
    xy = pts[:, 1:] * mm
    centre = xy.mean(0)
    evals, evecs = np.linalg.eigh(np.cov((xy - centre).T))
    normal, along = evecs[:, 0], evecs[:, 1]
    if normal[0] < 0:  # point inferior (rows grow towards the feet)
        normal = -normal
    areas = np.bincount(pts[:, 0], minlength=disc.shape[0])
    rows, cols = np.mgrid[0 : disc.shape[1], 0 : disc.shape[2]]
    grid = np.stack([rows * mm[0], cols * mm[1]], -1) - centre
    u_all, v_all = grid @ along, grid @ normal
    for s in np.nonzero(areas >= S1_MIN_SLICE_SHARE * areas.max())[0]:
        sec = xy[pts[:, 0] == s] - centre
        u, v = sec @ along, sec @ normal
        lo, hi = u.min(), u.max()
        lo, hi = lo + S1_RIM_SHARE * (hi - lo), hi - S1_RIM_SHARE * (hi - lo)
        bins = np.floor(u - lo).astype(int)
        ok = (u >= lo) & (u <= hi)
        lower = np.full(int(np.ceil(hi - lo)) + 1, -np.inf)
        np.maximum.at(lower, bins[ok], v[ok])
        b = np.floor(u_all - lo).astype(int)
        inside = (u_all >= lo) & (u_all <= hi) & (b >= 0) & (b < len(lower))
        surface = np.where(inside, lower[np.clip(b, 0, len(lower) - 1)], np.inf)
        s1[s] = inside & (v_all > surface + 0.5) & (v_all <= surface + depth_mm)
    return s1 & ~disc
