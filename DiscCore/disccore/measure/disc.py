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


@dataclass
class _Footprint:
    """Heights sampled over the plane perpendicular to the axis: ``height[i, j]`` at frame (a[i], l[j])."""

    a: np.ndarray
    l: np.ndarray
    t: np.ndarray  # axial samples (mm), ``dt`` apart
    dt: float
    step: float  # in-plane step (mm)
    height: np.ndarray
    foot: np.ndarray  # height > 0: the footprint
    ia: np.ndarray  # footprint indices
    il: np.ndarray
    ca: float  # footprint centroid (mm)
    cl: float

    def column(self, piece: Piece, frame: Frame, a: float, l: float):
        """The axis-parallel line at (a, l): (inside length, start LPS, end LPS), or None."""
        return _column(piece, frame, a, l, self.t[0], self.t[-1], min(self.dt, 0.05))


def measure_heights(
    piece: Piece, frame: Frame, inplane_step: float = 0.5, axial_step: Optional[float] = None
) -> Heights:
    """Footprint heights of ``piece`` along ``frame.axis`` (see module docstring). All mm, LPS."""
    out = Heights()
    fp = _footprint(piece, frame, inplane_step, axial_step)
    if fp is None:
        out.notes.append("structure too thin to measure")
        return out
    out.footprint_area_mm2 = float(fp.foot.sum() * inplane_step**2)
    values = _central_heights(fp)
    out.mean_mm = float(values.mean())
    out.median_mm = float(np.median(values))
    centre_col = fp.column(piece, frame, fp.ca, fp.cl)
    if centre_col is not None:  # drawn on the footprint centroid's column, as long as the mean height
        mid = 0.5 * (centre_col[1] + centre_col[2])
        out.lines["mean"] = (mid - 0.5 * out.mean_mm * frame.axis, mid + 0.5 * out.mean_mm * frame.axis, out.mean_mm)
    _ap_heights(out, piece, frame, fp)
    return out


def _footprint(piece: Piece, frame: Frame, step: float, axial_step: Optional[float]) -> Optional[_Footprint]:
    """The piece's heights over a grid covering its projection (None when no line meets it)."""
    dt = axial_step or min(0.25, float(np.min(piece.geometry.spacing)) / 2)
    a_lo, a_hi = piece.project_extent(frame.centre, frame.anterior)
    l_lo, l_hi = piece.project_extent(frame.centre, frame.lateral)
    t_lo, t_hi = piece.project_extent(frame.centre, frame.axis)
    a = frame_grid(a_lo - step, a_hi + step, step)
    l = frame_grid(l_lo - step, l_hi + step, step)
    t = frame_grid(t_lo - dt, t_hi + dt, dt)
    height = inside_length(sample_box(piece, frame, a, l, t), dt)  # (Na, Nl)
    foot = height > 1e-6
    if not foot.any():
        return None
    ia, il = np.nonzero(foot)
    return _Footprint(a, l, t, dt, step, height, foot, ia, il, a[ia].mean(), l[il].mean())


def _central_heights(fp: _Footprint) -> np.ndarray:
    """Heights over the central part of the footprint: p is kept when centroid + (p - centroid) / CENTRAL_FRACTION
    is still in the footprint (all heights when that leaves none)."""
    a, l, ia, il, ca, cl = fp.a, fp.l, fp.ia, fp.il, fp.ca, fp.cl
    qa = np.rint((ca + (a[ia] - ca) / CENTRAL_FRACTION - a[0]) / fp.step).astype(int)
    ql = np.rint((cl + (l[il] - cl) / CENTRAL_FRACTION - l[0]) / fp.step).astype(int)
    ok = (qa >= 0) & (qa < len(a)) & (ql >= 0) & (ql < len(l))
    central = np.zeros(len(ia), bool)
    central[ok] = fp.foot[qa[ok], ql[ok]]
    return fp.height[ia[central], il[central]] if central.any() else fp.height[fp.foot]


def _ap_heights(out: Heights, piece: Piece, frame: Frame, fp: _Footprint) -> None:
    """Set the anterior / middle / posterior heights and lines, at AP_POSITIONS of the mid-sagittal AP extent."""
    fine = min(0.1, fp.step / 2)  # mid-sagittal profile: finer steps along a, same axial sampling
    af = frame_grid(fp.a[0], fp.a[-1], fine)
    prof = inside_length(sample_box(piece, frame, af, np.array([fp.cl]), fp.t)[:, 0, :], fp.dt)
    hit = np.flatnonzero(prof > 1e-6)
    if hit.size == 0:
        out.notes.append("no mid-sagittal profile")
        return
    post_end = af[hit[0]] - fine / 2  # a grows anteriorly
    ant_end = af[hit[-1]] + fine / 2
    out.ap_extent_mm = float(ant_end - post_end)
    lat = np.flatnonzero(fp.foot[int(np.argmin(np.abs(fp.a - fp.ca)))])
    lat_extent = (lat.max() - lat.min() + 1) * fp.step if lat.size else 0.0
    half_a = max(AP_WINDOW * out.ap_extent_mm, fp.step)
    half_l = max(LATERAL_WINDOW * lat_extent, fp.step)
    for name, frac in AP_POSITIONS.items():
        pos = ant_end - frac * (ant_end - post_end)
        col = fp.column(piece, frame, pos, fp.cl)
        value = _local_fit_height(fp, pos, half_a, half_l)
        if value is None and col is not None:
            value = col[0]
        if value is None:
            continue
        setattr(out, f"{name}_mm", value)
        mid = 0.5 * (col[1] + col[2]) if col is not None else frame.to_lps(pos, fp.cl, 0.5 * (fp.t[0] + fp.t[-1]))
        out.lines[name] = (mid - 0.5 * value * frame.axis, mid + 0.5 * value * frame.axis, value)


def _local_fit_height(fp: _Footprint, pos: float, half_a: float, half_l: float) -> Optional[float]:
    """Height at (pos, centroid l) from a local fit h = c0 + c1 (a - pos) + c2 (l - cl) + c3 (l - cl)^2 over the
    footprint within the window: averages out the voxel staircase; the quadratic lateral term keeps a domed
    (laterally thinner) disc unbiased. None with fewer than 8 points."""
    aa, ll = fp.a[fp.ia], fp.l[fp.il]
    sel = (np.abs(aa - pos) <= half_a) & (np.abs(ll - fp.cl) <= half_l)
    if sel.sum() < 8:
        return None
    m = np.stack([np.ones(sel.sum()), aa[sel] - pos, ll[sel] - fp.cl, (ll[sel] - fp.cl) ** 2], axis=1)
    return float(np.linalg.lstsq(m, fp.height[fp.ia, fp.il][sel], rcond=None)[0][0])
