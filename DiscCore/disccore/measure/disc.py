"""Heights of a disc (or vertebral body) along a local axis, over its footprint.

Frame coordinates (mm): ``a`` along the anterior direction, ``l`` lateral, ``t`` along the spine axis;
positions are LPS (see :mod:`disccore.measure.axes`).

Definitions (docs/measurements.md; the numbers are named in :mod:`disccore.measure.constants`):
- footprint: the points ``(a, l)`` of the plane perpendicular to the axis whose axis-parallel line meets
  the structure (interpolated occupancy >= 0.5 somewhere on it);
- height at a footprint point: the length of that line inside the structure (sub-voxel, see
  :mod:`disccore.measure.sampling`);
- **central 80 %**: the footprint shrunk to 80 % about its centroid, i.e. the points ``p`` for which
  ``centroid + (p - centroid) / 0.8`` is still in the footprint. Along every direction through the
  centroid it keeps the middle 80 % of the footprint's extent and drops 10 % at each rim (for an ellipse:
  the concentric ellipse with 0.8x the semi-axes, 64 % of the area). The rim, where endplates curve and
  partial-volume is worst, is excluded;
- anterior / middle / posterior height: on the mid-sagittal line (through the footprint centroid along
  the anterior direction), at 10 %, 50 % and 90 % of the footprint's AP extent counted from anterior.
  Each is the value at that point of a surface h = c0 + c1 da + c2 dl + c3 dl^2 fitted (least squares)
  to the footprint heights within
  +-7.5 % of the AP extent and +-20 % of the lateral extent around it: a single voxel column would carry
  the staircase error of the voxel grid (up to a voxel), the local fit averages it out and is exact for
  linearly varying (wedge) heights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .axes import Frame, Piece
from .constants import AP_POSITIONS, CENTRAL_FRACTION
from .sampling import crossings, frame_grid, inside_length, sample_box

#: half-widths of the local window (fractions of the AP and lateral extents) for anterior/middle/posterior
AP_WINDOW = 0.075
LATERAL_WINDOW = 0.20


@dataclass
class Heights:
    """Heights of one structure; lines are (start_lps, end_lps, value_mm)."""

    mean_mm: Optional[float] = None
    median_mm: Optional[float] = None
    anterior_mm: Optional[float] = None
    middle_mm: Optional[float] = None
    posterior_mm: Optional[float] = None
    footprint_area_mm2: Optional[float] = None
    ap_extent_mm: Optional[float] = None
    # 'mean' | 'anterior' | 'middle' | 'posterior' -> (start LPS, end LPS, value): a segment along the axis,
    # as long as the value, centred on the structure at that footprint point
    lines: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def _column(piece: Piece, frame: Frame, a: float, l: float, t_lo: float, t_hi: float, dt: float):
    """(inside length, start LPS, end LPS) of the axis-parallel line at (a, l); None when it misses."""
    t = frame_grid(t_lo, t_hi, dt)
    occ = sample_box(piece, frame, np.array([a]), np.array([l]), t)[0, 0]
    runs = crossings(occ, t)
    if not runs:
        return None
    length = float(sum(e - s for s, e in runs))
    return length, frame.to_lps(a, l, runs[0][0]), frame.to_lps(a, l, runs[-1][1])


def measure_heights(piece: Piece, frame: Frame, inplane_step: float = 0.5, axial_step: Optional[float] = None) -> Heights:
    """Footprint heights of ``piece`` along ``frame.axis`` (see module docstring). All mm, LPS."""
    out = Heights()
    spacing_min = float(np.min(piece.geometry.spacing))
    dt = axial_step or min(0.25, spacing_min / 2)
    a_lo, a_hi = piece.project_extent(frame.centre, frame.anterior)
    l_lo, l_hi = piece.project_extent(frame.centre, frame.lateral)
    t_lo, t_hi = piece.project_extent(frame.centre, frame.axis)
    a = frame_grid(a_lo - inplane_step, a_hi + inplane_step, inplane_step)
    l = frame_grid(l_lo - inplane_step, l_hi + inplane_step, inplane_step)
    t = frame_grid(t_lo - dt, t_hi + dt, dt)
    height = inside_length(sample_box(piece, frame, a, l, t), dt)  # (Na, Nl)
    foot = height > 1e-6
    if not foot.any():
        out.notes.append("structure too thin to measure")
        return out
    out.footprint_area_mm2 = float(foot.sum() * inplane_step**2)
    ia, il = np.nonzero(foot)
    ca, cl = a[ia].mean(), l[il].mean()
    # central 80 %: p is kept when centroid + (p - centroid) / 0.8 is still in the footprint
    qa = np.rint((ca + (a[ia] - ca) / CENTRAL_FRACTION - a[0]) / inplane_step).astype(int)
    ql = np.rint((cl + (l[il] - cl) / CENTRAL_FRACTION - l[0]) / inplane_step).astype(int)
    ok = (qa >= 0) & (qa < len(a)) & (ql >= 0) & (ql < len(l))
    central = np.zeros(len(ia), bool)
    central[ok] = foot[qa[ok], ql[ok]]
    values = height[ia[central], il[central]] if central.any() else height[foot]
    out.mean_mm = float(values.mean())
    out.median_mm = float(np.median(values))

    # mid-sagittal profile: finer steps along a, same axial sampling
    fine = min(0.1, inplane_step / 2)
    af = frame_grid(a[0], a[-1], fine)
    prof = inside_length(sample_box(piece, frame, af, np.array([cl]), t)[:, 0, :], dt)
    hit = np.flatnonzero(prof > 1e-6)
    tl, th = t[0], t[-1]
    centre_col = _column(piece, frame, ca, cl, tl, th, min(dt, 0.05))
    if centre_col is not None:  # drawn on the footprint centroid's column, as long as the mean height
        mid = 0.5 * (centre_col[1] + centre_col[2])
        out.lines["mean"] = (mid - 0.5 * out.mean_mm * frame.axis, mid + 0.5 * out.mean_mm * frame.axis, out.mean_mm)
    if hit.size == 0:
        out.notes.append("no mid-sagittal profile")
        return out
    post_end = af[hit[0]] - fine / 2  # a grows anteriorly
    ant_end = af[hit[-1]] + fine / 2
    out.ap_extent_mm = float(ant_end - post_end)
    lat = np.flatnonzero(foot[int(np.argmin(np.abs(a - ca)))])
    lat_extent = (lat.max() - lat.min() + 1) * inplane_step if lat.size else 0.0
    half_a = max(AP_WINDOW * out.ap_extent_mm, inplane_step)
    half_l = max(LATERAL_WINDOW * lat_extent, inplane_step)
    aa, ll = a[ia], l[il]
    hh = height[ia, il]
    for name, frac in AP_POSITIONS.items():
        pos = ant_end - frac * (ant_end - post_end)
        col = _column(piece, frame, pos, cl, tl, th, min(dt, 0.05))
        sel = (np.abs(aa - pos) <= half_a) & (np.abs(ll - cl) <= half_l)
        if sel.sum() >= 8:
            # local fit h = c0 + c1 (a - pos) + c2 (l - cl) + c3 (l - cl)^2: averages out the voxel
            # staircase; the quadratic lateral term keeps a domed (laterally thinner) disc unbiased
            m = np.stack([np.ones(sel.sum()), aa[sel] - pos, ll[sel] - cl, (ll[sel] - cl) ** 2], axis=1)
            value = float(np.linalg.lstsq(m, hh[sel], rcond=None)[0][0])
        elif col is not None:
            value = col[0]
        else:
            continue
        setattr(out, f"{name}_mm", value)
        if col is not None:
            mid = 0.5 * (col[1] + col[2])
        else:
            mid = frame.to_lps(pos, cl, 0.5 * (tl + th))
        out.lines[name] = (mid - 0.5 * value * frame.axis, mid + 0.5 * value * frame.axis, value)
    return out
