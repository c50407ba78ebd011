"""The continuous anatomy (LPS mm): vertebral bodies, discs, the canal and the background as painters in
local frames; evaluated at points (:meth:`SpineModel.classify`) or rasterised on a voxel grid."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .. import anatomy
from ..image import Geometry
from .shapes import background_shape, body_shape, canal_segment_shape, disc_shape
from .tissues import ANNULUS, CORTEX, CSF, INTENSITIES, MARROW, NUCLEUS, ROOT, SOFT, TEXTURE


@dataclass(frozen=True)
class SpineFrame:
    """A right-angled local frame in LPS: ``p = origin + t*ap + l*lat + s*axis`` (mm)."""

    origin: np.ndarray
    ap: np.ndarray  # unit, anterior
    lat: np.ndarray  # unit, left
    axis: np.ndarray  # unit, superior (spine axis)

    def to_local(self, points_lps):
        d = np.asarray(points_lps, dtype=float) - self.origin
        return d @ self.ap, d @ self.lat, d @ self.axis

    def point(self, t=0.0, l=0.0, s=0.0) -> np.ndarray:
        return self.origin + t * self.ap + l * self.lat + s * self.axis


def sagittal_dirs(theta_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(axis, ap) unit vectors in LPS for a spine axis tilted ``theta`` degrees anteriorly from +S."""
    th = math.radians(theta_deg)
    axis = np.array([0.0, -math.sin(th), math.cos(th)])
    ap = np.array([0.0, -math.cos(th), -math.sin(th)])
    return axis, ap


_LAT = np.array([1.0, 0.0, 0.0])
_GLOBAL = SpineFrame(np.zeros(3), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))


@dataclass
class Painter:
    """One piece of anatomy: a frame, a local bounding box and a function of local coordinates."""

    name: str
    frame: SpineFrame
    bbox: Optional[tuple]  # ((t0, t1), (l0, l1), (s0, s1)) in the frame; None = whole grid
    fn: Callable  # (t, l, s) -> list of (bool mask, tissue class)
    inst: int  # instance number (1..255)
    labels: dict = field(default_factory=dict)  # tissue class -> label value for this instance
    gain: dict = field(default_factory=dict)  # tissue class -> intensity factor for this instance


# ------------------------------------------------------------------------------------------------
@dataclass
class VertebraModel:
    name: str
    label: int
    A: float
    W: float
    H: float  # height (posterior height of a fractured body)
    theta: float  # tilt of the body axis (deg, anterior from +S)
    centre: np.ndarray = None
    anterior_loss: float = 0.0  # a wedge fracture: the share of the anterior height lost (0: a healthy body)

    @property
    def frame(self) -> SpineFrame:
        axis, ap = sagittal_dirs(self.theta)
        return SpineFrame(self.centre, ap, _LAT, axis)

    @property
    def tan_half(self) -> float:
        """tan of half the body's wedge angle: its half-height is ``mid_height / 2 - t' * tan_half`` (t' = t -
        ``centre_shift``), so the height falls linearly from ``H`` at the back (t' = -A) to ``H * (1 -
        anterior_loss)`` at the front (t' = A)."""
        return self.anterior_loss * self.H / (4.0 * self.A)

    @property
    def wedge(self) -> float:
        """The body's wedge angle (deg, anterior shorter when positive): its endplates are tilted by half of it each
        about its axis, the lower one to :attr:`bottom_theta`."""
        return math.degrees(2.0 * math.atan(self.tan_half))

    @property
    def mid_height(self) -> float:
        return self.H - 2.0 * self.A * self.tan_half

    @property
    def centre_shift(self) -> float:
        """How far anterior of the frame origin the ellipse is drawn, so that the wedged body's centroid stays at
        the origin (the lost anterior height moves it back by ``tan_half * A^2 / (2 * mid_height)``)."""
        return self.tan_half * self.A**2 / (2.0 * self.mid_height)

    @property
    def bottom_theta(self) -> float:
        return self.theta - self.wedge / 2.0

    def height_at(self, t) -> float:
        """The body's height along its axis at AP position ``t`` of its frame."""
        return float(self.mid_height - 2.0 * (t - self.centre_shift) * self.tan_half)


@dataclass
class DiscModel:
    name: str
    label: int
    upper: VertebraModel
    lower: VertebraModel
    h_mid: float
    wedge: float  # deg
    A: float
    W: float
    canal_ap: float
    centre: np.ndarray = None
    degeneration: float = 0.0

    @property
    def alpha(self) -> float:
        return self.upper.bottom_theta + self.wedge / 2.0

    @property
    def tan_half(self) -> float:
        return math.tan(math.radians(self.wedge) / 2.0)

    @property
    def frame(self) -> SpineFrame:
        axis, ap = sagittal_dirs(self.alpha)
        return SpineFrame(self.centre, ap, _LAT, axis)

    def half_height(self, t):
        return self.h_mid / 2.0 + t * self.tan_half

    def height_at(self, t) -> float:
        return float(2.0 * self.half_height(t))


class SpineModel:
    """The continuous anatomy (LPS mm). Build with :func:`build_spine`; sample with :meth:`rasterize`."""

    def __init__(
        self, vertebrae, discs, canal_offset, canal_body_ap, canal_width, nucleus_gain, root_layer=0.0, dura=0.0
    ):
        self.vertebrae: list[VertebraModel] = vertebrae
        self.discs: list[DiscModel] = discs
        self.canal_offset = canal_offset  # D: canal centre at t = -D in every disc frame
        self.canal_body_ap = canal_body_ap
        self.canal_width = canal_width
        self.root_layer = root_layer  # mm of roots along the sac's posterior wall (0: three thin roots only)
        self.dura = dura  # mm of dark dura around the sac, outside its label (0: the sac touches the epidural fat)
        self.canal_label = anatomy.canal().label
        self.painters: list[Painter] = []
        self._nucleus_gain = nucleus_gain
        self._make_painters()

    # --- canal -----------------------------------------------------------------------------
    def _canal_radius(self, d: DiscModel, s):
        rb, rd = self.canal_body_ap / 2.0, d.canal_ap / 2.0
        sig = 0.5 * d.h_mid + 2.0
        return rb + (rd - rb) * np.exp(-((s / sig) ** 2))

    def _mitre(self, i_body: int):
        """(point, unit normal) of the mitre plane through body ``i_body`` (None at the ends)."""
        if i_body <= 0 or i_body >= len(self.vertebrae) - 1:
            return None
        n = self.discs[i_body - 1].frame.axis + self.discs[i_body].frame.axis
        return self.vertebrae[i_body].centre, n / np.linalg.norm(n)

    def _segment_clip(self, i: int):
        """Half-spaces bounding canal segment i, in disc i's local coords: list of (ct, cs, c0), inside where
        ``ct*t + cs*s + c0 <= 0`` (mitre planes carry no lateral term)."""
        f = self.discs[i].frame
        out = []
        for ib, sign in ((i, 1.0), (i + 1, -1.0)):  # below the upper mitre, above the lower one
            m = self._mitre(ib)
            if m is None:
                continue
            p, n = m
            out.append((sign * float(n @ f.ap), sign * float(n @ f.axis), sign * float(n @ (f.origin - p))))
        return out

    # --- painters --------------------------------------------------------------------------
    def _make_painters(self):
        inst = 1
        cl = self.canal_label
        rb = self.canal_body_ap / 2.0
        rw = self.canal_width / 2.0
        D = self.canal_offset
        for v in self.vertebrae:
            fn = body_shape(v, D, rb, rw)
            bb = (
                (-D - rb - 40.0, v.A + v.centre_shift + 1.0),
                (-max(v.W, rw + 10.0) - 1, max(v.W, rw + 10.0) + 1),
                (-v.H / 2 - 1.0, v.H / 2 + 1.0),
            )
            self.painters.append(Painter(v.name, v.frame, bb, fn, inst, {CORTEX: v.label, MARROW: v.label}))
            inst += 1
        for d in self.discs:
            fn = disc_shape(d.A, d.W, d.h_mid, d.tan_half)
            hs = d.h_mid / 2 + d.A * abs(d.tan_half) + 1.0
            bb = ((-d.A - 1, d.A + 1), (-d.W - 1, d.W + 1), (-hs, hs))
            gain = {NUCLEUS: self._nucleus_gain.get(d.name, 1.0)}
            self.painters.append(Painter(d.name, d.frame, bb, fn, inst, {ANNULUS: d.label, NUCLEUS: d.label}, gain))
            inst += 1
        for i, d in enumerate(self.discs):
            clip = self._segment_clip(i)
            t0, t1 = -D - max(rb, d.canal_ap / 2) - 8.0, d.A + 30.0
            s_lo, s_hi = -400.0, 400.0
            for ct, cs, c0 in clip:
                # plane: ct*t + cs*s + c0 = 0  (inside: <= 0); cs > 0 -> upper bound, cs < 0 -> lower bound
                ss = [-(ct * t + c0) / cs for t in (t0, t1)]
                if cs > 0:
                    s_hi = max(ss) + 1.0
                else:
                    s_lo = min(ss) - 1.0
            fn = canal_segment_shape(self, d, clip)
            bb = ((t0, t1), (-30.0, 30.0), (s_lo, s_hi))
            self.painters.append(Painter(f"canal:{d.name}", d.frame, bb, fn, inst, {CSF: cl, ROOT: cl}))
            inst += 1
        self.painters.append(Painter("background", _GLOBAL, None, background_shape(self), inst))

    def canal_centreline(self):
        """(z, y) samples of the canal centreline in the mid-sagittal plane, z increasing (LPS mm)."""
        pts = []
        for d in self.discs:
            f = d.frame
            for s in (-30.0, 0.0, 30.0):
                pts.append(f.point(-self.canal_offset, 0.0, s))
        f0, f1 = self.discs[0].frame, self.discs[-1].frame
        pts.append(f0.point(-self.canal_offset, 0, 600.0))
        pts.append(f1.point(-self.canal_offset, 0, -600.0))
        pts = np.array(pts)
        order = np.argsort(pts[:, 2])
        z, y = pts[order, 2], pts[order, 1]
        keep = np.concatenate([[True], np.diff(z) > 1e-6])
        return z[keep], y[keep]

    # --- evaluation ------------------------------------------------------------------------
    def classify(self, points_lps) -> np.ndarray:
        """Painted code (class << 8 | instance) of the continuous anatomy at LPS points (..., 3)."""
        p = np.asarray(points_lps, dtype=float)
        shape = p.shape[:-1]
        p = p.reshape(-1, 3)
        code = np.full(p.shape[0], SOFT << 8, dtype=np.uint16)
        for pa in self.painters:
            t, l, s = pa.frame.to_local(p)
            for mask, cls in pa.fn(t, l, s):
                np.maximum(code, np.uint16((cls << 8) | pa.inst), out=code, where=mask)
        return code.reshape(shape)

    def label_lut(self) -> np.ndarray:
        lut = np.zeros(65536, dtype=np.uint8)
        for pa in self.painters:
            for cls, lab in pa.labels.items():
                lut[(cls << 8) | pa.inst] = lab
        return lut

    def intensity_luts(self, contrast: str) -> tuple[np.ndarray, np.ndarray]:
        base = INTENSITIES[contrast]
        inten = np.zeros(65536, dtype=np.float32)
        tex = np.zeros(65536, dtype=np.float32)
        for cls, val in base.items():
            inten[(cls << 8) : (cls << 8) + 256] = val
            tex[(cls << 8) : (cls << 8) + 256] = TEXTURE.get(cls, 0.03)
        for pa in self.painters:
            for cls, g in pa.gain.items():
                inten[(cls << 8) | pa.inst] = base[cls] * (g if contrast == "T2" else 1.0)
        return inten, tex

    def label_at(self, points_lps) -> np.ndarray:
        """Label value (anatomy scheme, 0 = unlabelled) of the continuous anatomy at LPS points (..., 3)."""
        return self.label_lut()[self.classify(points_lps)]

    def rasterize(self, geom: Geometry, thick_axis: Optional[int], offsets: np.ndarray) -> np.ndarray:
        """Codes on the grid, the thick axis supersampled at ``offsets`` (in voxels) around each centre."""
        size = list(geom.size)
        nsub = len(offsets) if thick_axis is not None else 1
        shape = list(size)
        pos = [np.arange(n, dtype=float) for n in size]
        if thick_axis is not None:
            shape[thick_axis] *= nsub
            pos[thick_axis] = (np.arange(size[thick_axis], dtype=float)[:, None] + np.asarray(offsets)[None, :]).ravel()
        codes = np.full(shape, SOFT << 8, dtype=np.uint16)
        M = geom.direction * geom.spacing[None, :]
        for pa in self.painters:
            sl = painter_block(pa, geom, thick_axis, nsub)
            if sl is None:
                continue
            fields = []
            for vec in (pa.frame.ap, pa.frame.lat, pa.frame.axis):
                g = M.T @ vec
                c = float(vec @ (geom.origin - pa.frame.origin))
                a0 = (c + g[0] * pos[0][sl[0]]).astype(np.float32)
                a1 = (g[1] * pos[1][sl[1]]).astype(np.float32)
                a2 = (g[2] * pos[2][sl[2]]).astype(np.float32)
                fields.append((a0[:, None] + a1[None, :])[:, :, None] + a2[None, None, :])
            view = codes[sl]
            for mask, cls in pa.fn(*fields):
                np.maximum(view, np.uint16((cls << 8) | pa.inst), out=view, where=mask)
        return codes


def painter_block(pa: Painter, geom: Geometry, thick_axis, nsub):
    """Index slices (on the supersampled array) covering the painter's bounding box, or None."""
    size = geom.size
    if pa.bbox is None:
        return tuple(slice(0, size[a] * (nsub if a == thick_axis else 1)) for a in range(3))
    (t0, t1), (l0, l1), (s0, s1) = pa.bbox
    corners = np.array([pa.frame.point(t, l, s) for t in (t0, t1) for l in (l0, l1) for s in (s0, s1)])
    idx = geom.lps_to_index(corners)
    out = []
    for a in range(3):
        lo = max(0, int(math.floor(idx[:, a].min())) - 1)
        hi = min(size[a] - 1, int(math.ceil(idx[:, a].max())) + 1)
        if lo > hi:
            return None
        if a == thick_axis:
            out.append(slice(lo * nsub, (hi + 1) * nsub))
        else:
            out.append(slice(lo, hi + 1))
    return tuple(out)
