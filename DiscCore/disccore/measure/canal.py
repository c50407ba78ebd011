"""The spinal canal at a disc level: cross-section area and anteroposterior (AP) diameter.

The section is the plane through the disc centre perpendicular to the local spine axis (LPS mm).
The canal's interpolated occupancy is sampled on a fine grid in that plane; the section is the
connected region with occupancy >= 0.5 nearest the disc (area = its cell count x cell area). The AP
direction runs from the disc centre to the section's centroid (projected into the plane); the AP
diameter is the length of the inside run, along that direction, through the section centroid, with
sub-sample crossings (see :mod:`disccore.measure.sampling`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage

from .axes import Frame, Piece, make_frame, perpendicular_unit
from .sampling import crossings, frame_grid, sample_box

#: half-thickness (mm) of the slab around the plane used to find where the canal is
SLAB_MM = 8.0
#: how far from the disc centre (mm) the canal may lie
SEARCH_RADIUS_MM = 60.0


@dataclass
class CanalSection:
    area_mm2: float
    centroid_lps: np.ndarray
    posterior: np.ndarray  # unit LPS vector, disc centre -> canal centre, perpendicular to the axis
    ap_diameter_mm: Optional[float]
    ap_start_lps: Optional[np.ndarray]  # anterior end
    ap_end_lps: Optional[np.ndarray]  # posterior end


def canal_section(canal: Piece, centre, axis, step: float = 0.2) -> Optional[CanalSection]:
    """The canal's section in the plane through ``centre`` perpendicular to ``axis`` (LPS); None if absent."""
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
    if n > 1:  # keep the piece nearest the disc centre (largest on ties)
        ia, il = np.nonzero(inside)
        d2 = a[ia] ** 2 + l[il] ** 2
        sizes = np.bincount(lab[ia, il])
        best = min(range(1, n + 1), key=lambda k: (d2[lab[ia, il] == k].min(), -sizes[k]))
        inside = lab == best
    ia, il = np.nonzero(inside)
    area = float(len(ia) * step * step)
    ca, cl = a[ia].mean(), l[il].mean()
    c_lps = frame.to_lps(ca, cl, 0.0)
    posterior = perpendicular_unit(c_lps - centre, axis)
    if posterior is None:  # canal centred on the disc: use the patient's posterior
        posterior = perpendicular_unit(np.array([0.0, 1.0, 0.0]), axis)
    sec = CanalSection(area, c_lps, posterior, None, None, None)
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
        sec.ap_start_lps = line_frame.to_lps(hi, 0.0, 0.0)
        sec.ap_end_lps = line_frame.to_lps(lo, 0.0, 0.0)
    return sec


def stenosis_flag(ap_mm: Optional[float]) -> Optional[str]:
    """'absolute' below 10 mm, 'relative' below 12 mm, '' otherwise; None when not measured."""
    if ap_mm is None:
        return None
    if ap_mm < 10.0:
        return "absolute"
    if ap_mm < 12.0:
        return "relative"
    return ""
