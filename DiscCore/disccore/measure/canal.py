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
- both are averaged over CANAL_PLANES parallel planes within +-CANAL_PLANES_HALF_SPAN_MM of the section plane
  (the values are in :mod:`disccore.measure.constants`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage

from .axes import ANTERIOR_LPS, Frame, Piece, make_frame, perpendicular_unit
from .constants import (
    CANAL_PLANES,
    CANAL_PLANES_HALF_SPAN_MM,
    SLICE_CHORDS_MAX_ANGLE_DEG,
    SLICES_ALONG_SECTION_MAX_DEG,
    THICK_SLICE_RATIO,
)
from .sampling import crossings, frame_grid, sample_box, sample_points

_trapezoid = getattr(np, "trapezoid", None) or np.trapz

#: half-thickness (mm) of the slab around the plane used to find where the canal is
SLAB_MM = 8.0
#: how far from the disc centre (mm) the canal may lie
SEARCH_RADIUS_MM = 60.0
#: a piece of the section smaller than this share of the largest is a fragment (a speck of the canal
#: segment cut off in this plane), never the section, however near the disc it lies
MIN_PIECE_SHARE = 0.25
#: the section piece is grown by this much (mm) before counting pixels in the parallel planes
PLANE_REGION_GROWTH_MM = 2.0
#: sampling step (mm) along the AP line and the slices' cut lines
LINE_STEP_MM = 0.05
#: with fewer thick slices than this cutting the section, its values are noted as approximate
MIN_CUTTING_SLICES = 3


@dataclass
class CanalSection:
    area_mm2: Optional[float]
    centroid_lps: np.ndarray
    posterior: np.ndarray  # unit LPS vector, disc centre -> canal centre, perpendicular to the axis
    ap_diameter_mm: Optional[float]
    ap_start_lps: Optional[np.ndarray]  # anterior end
    ap_end_lps: Optional[np.ndarray]  # posterior end
    note: Optional[str] = None


@dataclass
class _Plane:
    """The section plane sampled on a grid: frame coordinates ``a`` x ``l`` (mm) and the section's pixels."""

    frame: Frame
    a: np.ndarray
    l: np.ndarray
    inside: np.ndarray  # (len(a), len(l)) bool: the section piece
    step: float

    @property
    def centroid(self) -> tuple[float, float]:
        """The section piece's centroid in frame coordinates (a, l), mm."""
        ia, il = np.nonzero(self.inside)
        return self.a[ia].mean(), self.l[il].mean()

    @property
    def reach(self) -> float:
        """The grid's diagonal (mm): long enough for any line through the section."""
        return float(np.hypot(self.a[-1] - self.a[0], self.l[-1] - self.l[0]))


def anterior_hint(section: Optional[CanalSection]) -> np.ndarray:
    """The anterior direction a structure's frame should take: away from the canal, else the patient's anterior."""
    return ANTERIOR_LPS if section is None else -section.posterior


def canal_section(canal: Piece, centre, axis, step: float = 0.2, area: bool = True) -> Optional[CanalSection]:
    """The canal's section in the plane through ``centre`` perpendicular to ``axis`` (LPS); None if absent.

    With ``area=False`` only the centroid and the AP direction are computed (area and diameter are None).
    """
    centre = np.asarray(centre, float)
    axis = np.asarray(axis, float)
    plane = _section_plane(canal, make_frame(centre, axis, None), step)  # in-plane basis only; AP decided below
    if plane is None:
        return None
    c_lps = plane.frame.to_lps(*plane.centroid, 0.0)
    posterior = perpendicular_unit(c_lps - centre, axis)
    if posterior is None:  # canal centred on the disc: use the patient's posterior
        posterior = perpendicular_unit(-ANTERIOR_LPS, axis)
    sec = CanalSection(None, c_lps, posterior, None, None, None)
    if area:
        planes = _parallel_plane_chords(canal, plane)
        sec.area_mm2, sec.note = _section_area(canal, plane, planes)
        _measure_ap(canal, plane, sec, planes)
    return sec


def _section_plane(canal: Piece, frame: Frame, step: float) -> Optional[_Plane]:
    """The canal near the plane ``frame`` (t = 0) sampled at ``step``, and its section piece; None if absent."""
    g = canal.geometry
    rel = canal.voxels_lps - frame.centre
    near = np.abs(rel @ frame.axis) <= SLAB_MM
    near &= np.linalg.norm(rel - np.outer(rel @ frame.axis, frame.axis), axis=1) <= SEARCH_RADIUS_MM
    if not near.any():
        return None
    pa = rel[near] @ frame.anterior
    pl = rel[near] @ frame.lateral
    pad = float(np.max(g.spacing)) + step
    a = frame_grid(pa.min() - pad, pa.max() + pad, step)
    l = frame_grid(pl.min() - pad, pl.max() + pad, step)
    inside = _section_piece(sample_box(canal, frame, a, l, np.array([0.0]))[:, :, 0] >= 0.5, a, l)
    return None if inside is None else _Plane(frame, a, l, inside, step)


def _section_piece(inside: np.ndarray, a: np.ndarray, l: np.ndarray) -> Optional[np.ndarray]:
    """The piece of the plane's inside pixels nearest the disc centre (largest on ties), of those that are not
    mere fragments; None when there is none."""
    lab, n = ndimage.label(inside)
    if n <= 1:
        return inside if n else None
    ia, il = np.nonzero(inside)
    d2 = a[ia] ** 2 + l[il] ** 2
    sizes = np.bincount(lab[ia, il])
    pieces = [k for k in range(1, n + 1) if sizes[k] >= MIN_PIECE_SHARE * sizes.max()]
    best = min(pieces, key=lambda k: (d2[lab[ia, il] == k].min(), -sizes[k]))
    return lab == best


def _plane_offsets() -> np.ndarray:
    """Axial offsets (mm) of the parallel planes whose estimates are averaged."""
    return np.linspace(-CANAL_PLANES_HALF_SPAN_MM, CANAL_PLANES_HALF_SPAN_MM, CANAL_PLANES)


def _parallel_plane_chords(canal: Piece, plane: _Plane) -> list:
    """The thick slices' chords in the section plane and in the parallel planes (their staircase errors differ,
    so averaging the per-plane estimates reduces them); empty when the slices are not thick."""
    frame = plane.frame
    centroid = plane.centroid
    planes = []
    for t in _plane_offsets():
        shifted = Frame(frame.centre + t * frame.axis, frame.axis, frame.anterior)
        ch = _slice_chords(canal, shifted, centroid, plane.inside, plane.a, plane.l)
        if ch is None:
            return []
        planes.append(ch)
    return planes


def _section_area(canal: Piece, plane: _Plane, planes: list) -> tuple[float, Optional[str]]:
    """(area mm2, note): from the slices' chords when there are any, else a pixel count; both averaged over the
    parallel planes."""
    step = plane.step
    if not planes:  # pixel count in each parallel plane, within the section piece grown a little
        region = ndimage.binary_dilation(plane.inside, iterations=max(1, int(round(PLANE_REGION_GROWTH_MM / step))))
        occ = sample_box(canal, plane.frame, plane.a, plane.l, _plane_offsets())
        counts = [np.count_nonzero((occ[:, :, k] >= 0.5) & region) for k in range(occ.shape[2])]
        return float(np.mean(counts) * step * step), None
    estimates = [v for v in (_area_from_chords(ch) for ch in planes) if v is not None]
    area = float(np.mean(estimates)) if estimates else float(np.count_nonzero(plane.inside) * step * step)
    run = _inner_run(planes[len(planes) // 2])
    n_cut = 0 if run is None else len(run[0])
    if n_cut < MIN_CUTTING_SLICES:
        return area, (
            f"the canal is cut by only {n_cut} of the thick slices here: its area and AP diameter are approximate"
        )
    return area, None


def _measure_ap(canal: Piece, plane: _Plane, sec: CanalSection, planes: list) -> None:
    """Set ``sec``'s AP diameter and line: the run along ``sec.posterior`` through the centroid, its length
    refined by the slices' chords or by a local fit over parallel lines."""
    line_frame = Frame(sec.centroid_lps, plane.frame.axis, -sec.posterior)  # a grows anteriorly
    s = frame_grid(-plane.reach, plane.reach, LINE_STEP_MM)
    prof = sample_box(canal, line_frame, s, np.array([0.0]), np.array([0.0]))[:, 0, 0]
    runs = [r for r in crossings(prof, s) if r[0] <= 0.0 <= r[1]]
    if not runs:  # centroid outside (crescent-shaped section): take the longest run
        runs = sorted(crossings(prof, s), key=lambda r: r[0] - r[1])[:1]
    if not runs:
        return
    lo, hi = runs[0]
    sec.ap_diameter_mm = float(hi - lo)
    if planes:
        refined = _ap_from_slice_chords(plane.frame, sec.posterior, planes)
    else:
        ia, il = np.nonzero(plane.inside)
        ll = (plane.frame.to_lps(plane.a[ia], plane.l[il], 0.0) - sec.centroid_lps) @ line_frame.lateral
        refined = _ap_local_fit(canal, line_frame, s, 0.5 * float(ll.max() - ll.min()))
    if refined is not None:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - refined / 2, mid + refined / 2
        sec.ap_diameter_mm = refined
    sec.ap_start_lps = line_frame.to_lps(hi, 0.0, 0.0)
    sec.ap_end_lps = line_frame.to_lps(lo, 0.0, 0.0)


def _ap_from_slice_chords(frame: Frame, posterior: np.ndarray, planes: list) -> Optional[float]:
    """The slices' chords interpolated to the centroid, averaged over the planes, when the slices cut the section
    along the AP direction (within SLICE_CHORDS_MAX_ANGLE_DEG); else None."""
    along = planes[len(planes) // 2].along
    cut_dir = along[0] * frame.anterior + along[1] * frame.lateral
    if abs(float(cut_dir @ posterior)) < np.cos(np.radians(SLICE_CHORDS_MAX_ANGLE_DEG)):
        return None
    values = [v for v in (_chord_at_centroid(ch) for ch in planes) if v is not None]
    return float(np.mean(values)) if values else None


def _ap_local_fit(canal: Piece, line_frame: Frame, s: np.ndarray, half_width: float) -> Optional[float]:
    """AP chord at the centroid from a quadratic fit of chord^2 over nearby parallel AP lines.

    A single line's extent carries the staircase error of the voxel grid (up to one voxel); the chords of
    lines at lateral offsets within +-35 % of the half-width and in the parallel planes along the axis see the
    boundary at varied phases, and the fit (exact for an ellipse) averages that error out.
    """
    dmin = float(np.min(canal.geometry.spacing))
    step = max(0.2, 0.5 * dmin)
    reach = 0.35 * half_width
    if reach < 2 * step:
        return None
    offsets = np.arange(-np.floor(reach / step), np.floor(reach / step) + 1) * step
    ts = _plane_offsets()
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
    if sp[thick] < THICK_SLICE_RATIO * float(np.min(sp)):
        return None
    k_of = canal.index_matrix[thick]  # d(index_thick)/d(LPS)
    beta = np.array([k_of @ frame.anterior, k_of @ frame.lateral])
    nb = float(np.linalg.norm(beta))
    if abs(k_of @ frame.axis) > np.cos(np.radians(SLICES_ALONG_SECTION_MAX_DEG)) * np.linalg.norm(k_of) or nb < 1e-9:
        return None  # slices nearly parallel to the section plane: the pixel count is fine
    along = np.array([-beta[1], beta[0]]) / nb
    alpha = canal.lps_to_crop_index(frame.centre)[thick]
    ia, il = np.nonzero(inside)
    idx = alpha + beta[0] * a[ia] + beta[1] * l[il]
    k_lo, k_hi = int(np.floor(idx.min())) - 1, int(np.ceil(idx.max())) + 1
    reach = float(np.hypot(a[-1] - a[0], l[-1] - l[0]))
    s = frame_grid(-reach, reach, LINE_STEP_MM)
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
    return ch.offsets[lo : hi + 1], ch.chords[lo : hi + 1]


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
