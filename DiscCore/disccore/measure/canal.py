"""The spinal canal at a disc level: cross-section area and anteroposterior (AP) diameter.

The section is the plane through the disc centre perpendicular to the local spine axis (LPS mm).
The canal's interpolated occupancy is sampled on a fine grid in that plane; the section is the
connected region with occupancy >= 0.5 nearest the disc (pieces under a quarter of the largest are fragments
and never chosen). The AP direction runs from the disc centre to
the section's centroid (projected into the plane); the AP diameter is the canal's extent along that
direction through the section centroid.

Sub-voxel accuracy (a single line or a single pixel count carries the voxel staircase error):
- thick slices (spacing ratio >= 2) crossing the section: the chords that each slice's centre plane
  cuts through the section are measured exactly at in-plane resolution; the area integrates a
  quadratic fit of chord^2 across the slices (exact for an ellipse) and the AP diameter interpolates the
  chords to the centroid;
- otherwise the AP diameter comes from a quadratic fit of chord^2 over parallel AP lines near the
  centroid, and the area is a pixel count;
- both are averaged over five parallel planes within +-AP_SLAB_MM (2 mm) of the section plane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage

from .axes import Frame, Piece, make_frame, perpendicular_unit
from .sampling import crossings, frame_grid, sample_box, sample_points

_trapezoid = getattr(np, "trapezoid", None) or getattr(np, "trapz")

#: half-thickness (mm) of the slab around the plane used to find where the canal is
SLAB_MM = 8.0
#: half-thickness (mm) of the slab of parallel planes whose AP chords are fitted (non-thick grids)
AP_SLAB_MM = 2.0
#: how far from the disc centre (mm) the canal may lie
SEARCH_RADIUS_MM = 60.0
#: a piece of the section smaller than this share of the largest is a fragment (a speck of the canal
#: segment cut off in this plane), never the section, however near the disc it lies
MIN_PIECE_SHARE = 0.25


@dataclass
class CanalSection:
    area_mm2: Optional[float]
    centroid_lps: np.ndarray
    posterior: np.ndarray  # unit LPS vector, disc centre -> canal centre, perpendicular to the axis
    ap_diameter_mm: Optional[float]
    ap_start_lps: Optional[np.ndarray]  # anterior end
    ap_end_lps: Optional[np.ndarray]  # posterior end
    note: Optional[str] = None


def canal_section(canal: Piece, centre, axis, step: float = 0.2, area: bool = True) -> Optional[CanalSection]:
    """The canal's section in the plane through ``centre`` perpendicular to ``axis`` (LPS); None if absent.

    With ``area=False`` only the centroid and the AP direction are computed (area and diameter are None).
    """
    centre = np.asarray(centre, float)
    axis = np.asarray(axis, float)
    frame = make_frame(centre, axis, None)  # in-plane basis only; AP is decided below
    g = canal.geometry
    idx = np.argwhere(canal.mask > 0.5) + canal.offset
    rel = g.index_to_lps(idx) - centre
    near = np.abs(rel @ axis) <= SLAB_MM
    near &= np.linalg.norm(rel - np.outer(rel @ axis, axis), axis=1) <= SEARCH_RADIUS_MM
    if not near.any():
        return None
    pa = rel[near] @ frame.anterior
    pl = rel[near] @ frame.lateral
    pad = float(np.max(g.spacing)) + step
    a = frame_grid(pa.min() - pad, pa.max() + pad, step)
    l = frame_grid(pl.min() - pad, pl.max() + pad, step)
    occ = sample_box(canal, frame, a, l, np.array([0.0]))[:, :, 0]
    inside = occ >= 0.5
    lab, n = ndimage.label(inside)
    if n == 0:
        return None
    if n > 1:  # keep the piece nearest the disc centre (largest on ties), of those not mere fragments
        ia, il = np.nonzero(inside)
        d2 = a[ia] ** 2 + l[il] ** 2
        sizes = np.bincount(lab[ia, il])
        pieces = [k for k in range(1, n + 1) if sizes[k] >= MIN_PIECE_SHARE * sizes.max()]
        best = min(pieces, key=lambda k: (d2[lab[ia, il] == k].min(), -sizes[k]))
        inside = lab == best
    ia, il = np.nonzero(inside)
    area_mm2 = float(len(ia) * step * step)
    ca, cl = a[ia].mean(), l[il].mean()
    c_lps = frame.to_lps(ca, cl, 0.0)
    # chords on the thick slices' planes, in the section plane and in parallel planes up to +-AP_SLAB_MM
    # along the axis (their staircase errors differ, so averaging the per-plane estimates reduces them)
    chords = None
    planes = []
    if area:
        for t in np.linspace(-AP_SLAB_MM, AP_SLAB_MM, 5):
            shifted = Frame(frame.centre + t * frame.axis, frame.axis, frame.anterior)
            ch = _slice_chords(canal, shifted, (ca, cl), inside, a, l)
            if ch is None:
                break
            planes.append(ch)
        chords = planes[len(planes) // 2] if len(planes) == 5 else None
    few_slices = None
    if chords is not None:
        estimates = [v for v in (_area_from_chords(ch) for ch in planes) if v is not None]
        if estimates:
            area_mm2 = float(np.mean(estimates))
        run = _inner_run(chords)
        n_cut = 0 if run is None else len(run[0])
        if n_cut < 3:
            few_slices = (f"the canal is cut by only {n_cut} of the thick slices here: its area and AP diameter "
                          "are approximate")
    elif area:
        # pixel count, averaged over the parallel planes (same section piece, grown by 2 mm)
        region = ndimage.binary_dilation(inside, iterations=max(1, int(round(2.0 / step))))
        occ5 = sample_box(canal, frame, a, l, np.linspace(-AP_SLAB_MM, AP_SLAB_MM, 5))
        area_mm2 = float(np.mean([np.count_nonzero((occ5[:, :, k] >= 0.5) & region) for k in range(5)]) * step * step)
    posterior = perpendicular_unit(c_lps - centre, axis)
    if posterior is None:  # canal centred on the disc: use the patient's posterior
        posterior = perpendicular_unit(np.array([0.0, 1.0, 0.0]), axis)
    sec = CanalSection(area_mm2 if area else None, c_lps, posterior, None, None, None, few_slices if area else None)
    if not area:
        return sec
    # AP run through the centroid, along `posterior`
    line_frame = Frame(c_lps, axis, -posterior)  # a grows anteriorly
    reach = float(np.hypot(a[-1] - a[0], l[-1] - l[0]))
    s = frame_grid(-reach, reach, 0.05)
    prof = sample_box(canal, line_frame, s, np.array([0.0]), np.array([0.0]))[:, 0, 0]
    runs = [r for r in crossings(prof, s) if r[0] <= 0.0 <= r[1]]
    if not runs:  # centroid outside (crescent-shaped section): take the longest run
        runs = sorted(crossings(prof, s), key=lambda r: r[0] - r[1])[:1]
    if runs:
        lo, hi = runs[0]
        sec.ap_diameter_mm = float(hi - lo)
        interp = None
        # thick slices across the section: use the chords measured on the slice planes, interpolated to
        # the centroid, when those planes cut the section along the AP direction (within 20 degrees)
        if chords is not None:
            cut_dir = chords.along[0] * frame.anterior + chords.along[1] * frame.lateral
            if abs(float(cut_dir @ posterior)) >= np.cos(np.radians(20.0)):
                values = [v for v in (_chord_at_centroid(ch) for ch in planes) if v is not None]
                interp = float(np.mean(values)) if values else None
        else:
            ll = (frame.to_lps(a[ia], l[il], 0.0) - c_lps) @ line_frame.lateral
            interp = _ap_local_fit(canal, line_frame, s, 0.5 * float(ll.max() - ll.min()))
        if interp is not None:
            mid = 0.5 * (lo + hi)
            lo, hi = mid - interp / 2, mid + interp / 2
            sec.ap_diameter_mm = interp
        sec.ap_start_lps = line_frame.to_lps(hi, 0.0, 0.0)
        sec.ap_end_lps = line_frame.to_lps(lo, 0.0, 0.0)
    return sec


def _ap_local_fit(canal: Piece, line_frame: Frame, s: np.ndarray, half_width: float) -> Optional[float]:
    """AP chord at the centroid from a quadratic fit of chord^2 over nearby parallel AP lines.

    A single line's extent carries the staircase error of the voxel grid (up to one voxel); the chords of
    lines at lateral offsets within +-35 % of the half-width and in planes up to +-AP_SLAB_MM along the axis see the
    boundary at varied phases, and the fit (exact for an ellipse) averages that error out.
    """
    dmin = float(np.min(canal.geometry.spacing))
    step = max(0.2, 0.5 * dmin)
    reach = 0.35 * half_width
    if reach < 2 * step:
        return None
    offsets = np.arange(-np.floor(reach / step), np.floor(reach / step) + 1) * step
    ts = np.linspace(-AP_SLAB_MM, AP_SLAB_MM, 5)
    prof = sample_box(canal, line_frame, s, offsets, ts)  # (Ns, No, Nt)
    xs, cs = [], []
    for j, o in enumerate(offsets):
        for k in range(len(ts)):
            runs = crossings(prof[:, j, k], s)
            runs = [r for r in runs if r[0] <= 0.0 <= r[1]]
            if runs:
                xs.append(o)
                cs.append(runs[0][1] - runs[0][0])
    if len(xs) < 5:
        return None
    xs, cs = np.array(xs), np.array(cs)
    q = np.polyfit(xs, cs**2, 2)
    return float(np.sqrt(max(np.polyval(q, 0.0), 0.0)))


@dataclass
class _SliceChords:
    """Chords cut through the section by the thick slices' centre planes (frame (a, l) coordinates, mm)."""

    offsets: np.ndarray  # lateral offset of each cut line (perpendicular distance, mm), ascending
    chords: np.ndarray  # inside length along each cut line through the section (mm); 0 where it misses
    along: np.ndarray  # unit direction of the cut lines in (a, l)
    centroid_offset: float


def _slice_chords(canal: Piece, frame: Frame, centroid, inside, a, l) -> Optional[_SliceChords]:
    """Chords of the section along the thick slices' centre planes, or None when slices are not thick.

    With thick slices (e.g. sagittal 4.4 mm) crossing the section plane, the interpolated occupancy
    between two slices is a blend of both, so a pixel count of the section is only as good as a midpoint
    rule with 4.4 mm steps (5-10 % area errors for a 15-20 mm wide canal, depending on where the slices
    fall) and the AP extent between two slices is that of the nearer one. On each slice's centre plane,
    though, the mask is exact at in-plane resolution: the chords measured there are the data used.
    """
    g = canal.geometry
    sp = g.spacing
    thick = int(np.argmax(sp))
    if sp[thick] < 2.0 * float(np.min(sp)):
        return None
    k_of = canal.index_matrix[thick]  # d(index_thick)/d(LPS)
    beta = np.array([k_of @ frame.anterior, k_of @ frame.lateral])
    nb = float(np.linalg.norm(beta))
    if abs(k_of @ frame.axis) > 0.5 * np.linalg.norm(k_of) or nb < 1e-9:
        return None  # slices nearly parallel to the section plane: the pixel count is fine
    along = np.array([-beta[1], beta[0]]) / nb
    alpha = canal.lps_to_crop_index(frame.centre)[thick]
    ia, il = np.nonzero(inside)
    idx = alpha + beta[0] * a[ia] + beta[1] * l[il]
    k_lo, k_hi = int(np.floor(idx.min())) - 1, int(np.ceil(idx.max())) + 1
    reach = float(np.hypot(a[-1] - a[0], l[-1] - l[0]))
    s = frame_grid(-reach, reach, 0.05)
    c = np.asarray(centroid, float)
    offsets, chords = [], []
    for k in range(k_lo, k_hi + 1):
        foot = c + ((k - alpha) - beta @ c) * beta / nb**2  # the centroid's foot on cut line k
        prof = sample_points(canal, frame.to_lps(foot[0] + s * along[0], foot[1] + s * along[1], 0.0))
        runs = crossings(prof, s)
        chord = 0.0
        if runs:  # the run through, or nearest to, the centroid's foot
            r = min(runs, key=lambda r: 0.0 if r[0] <= 0 <= r[1] else min(abs(r[0]), abs(r[1])))
            chord = r[1] - r[0]
        offsets.append((k - alpha) / nb)
        chords.append(chord)
    offsets = np.array(offsets)
    order = np.argsort(offsets)
    return _SliceChords(offsets[order], np.array(chords)[order], along, float(beta @ c / nb))


def _inner_run(ch: _SliceChords):
    """(offsets, chords) of the contiguous run of cut lines that hit the section around its centroid."""
    hit = ch.chords > 0
    if not hit.any():
        return None
    i = int(np.argmin(np.abs(ch.offsets - ch.centroid_offset)))
    if not hit[i]:
        i = int(np.flatnonzero(hit)[np.argmin(np.abs(ch.offsets[hit] - ch.centroid_offset))])
    lo = i
    while lo > 0 and hit[lo - 1]:
        lo -= 1
    hi = i
    while hi + 1 < len(hit) and hit[hi + 1]:
        hi += 1
    return ch.offsets[lo:hi + 1], ch.chords[lo:hi + 1]


def _area_from_chords(ch: _SliceChords) -> Optional[float]:
    """Area from the chords: with three or more, the integral of sqrt(q) where q is a least-squares
    quadratic fit of chord^2 against offset (exact for an ellipse, a smooth interpolant otherwise),
    taken from one cut-line spacing before the first hit to one after the last (where the next cut line
    is known to miss). When the fit is poor (non-convex shapes) or with two chords, the trapezoid rule
    between the hits plus half-spacing caps."""
    run = _inner_run(ch)
    if run is None or len(run[0]) < 2:
        return None
    x, c = run
    dx = float(np.mean(np.diff(x)))
    if len(x) >= 3:
        # residuals in chord units (d(c^2) = 2c dc): short rim chords are not over-trusted
        q = np.polyfit(x, c**2, 2, w=1.0 / np.maximum(c, 0.25 * float(c.max())))
        resid = np.sqrt(np.clip(np.polyval(q, x), 0.0, None)) - c
        if q[0] < 0 and np.sqrt(np.mean(resid**2)) <= 0.1 * float(c.max()):
            xx = np.linspace(x[0] - dx, x[-1] + dx, 2001)
            cc = np.minimum(np.sqrt(np.clip(np.polyval(q, xx), 0.0, None)), 1.05 * float(c.max()))
            return float(_trapezoid(cc, xx))
    return float(np.sum(0.5 * (c[1:] + c[:-1]) * np.diff(x))) + 0.25 * dx * (c[0] + c[-1])


def _chord_at_centroid(ch: _SliceChords) -> Optional[float]:
    """The chord interpolated to the centroid's offset: quadratic fit of chord^2 on the nearest cut lines."""
    run = _inner_run(ch)
    if run is None:
        return None
    x, c = run
    if len(x) == 1:
        return float(c[0])
    near = np.argsort(np.abs(x - ch.centroid_offset))[: min(4, len(x))]
    deg = 2 if len(near) >= 3 else 1
    q = np.polyfit(x[near], c[near] ** 2, deg)
    return float(np.sqrt(max(np.polyval(q, ch.centroid_offset), 0.0)))


def stenosis_flag(ap_mm: Optional[float]) -> Optional[str]:
    """'absolute' below 10 mm, 'relative' below 12 mm, '' otherwise; None when not measured."""
    if ap_mm is None:
        return None
    if ap_mm < 10.0:
        return "absolute"
    if ap_mm < 12.0:
        return "relative"
    return ""
