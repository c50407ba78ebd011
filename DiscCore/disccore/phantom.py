"""Synthetic lumbar MRI phantoms whose ground truth is exact by construction.

The anatomy is built in continuous physical space (**LPS** millimetres: +x left, +y posterior,
+z superior) and only then sampled onto a voxel grid of any spacing and direction matrix. Every
structure is an analytic shape, so the measurements defined in DESIGN.md section 3 have closed
forms that are reported in :attr:`Phantom.truth`.

Geometry (all in the mid-sagittal plane x = 0; lateral is +x):

* **Vertebral body** ``k``: an elliptic cylinder along its own unit axis ``w_k`` (pointing
  superior), centred at ``B_k``, AP semi-axis ``A_k``, lateral semi-axis ``W_k``, height ``H_k``
  between two parallel endplates perpendicular to ``w_k``. Its centroid is exactly ``B_k``. A dark
  cortical rim (1.2 mm) surrounds the marrow; pedicles, laminae and a spinous process are drawn in
  the image but are not labelled (the vertebra labels hold the vertebral body only).
* **Disc** ``i`` between bodies ``i`` (above) and ``i + 1`` (below): its axis ``u_i`` is the unit
  vector from ``B_{i+1}`` to ``B_i`` (so the local spine axis of DESIGN section 3, centroid of the body
  above to the body below, is ``u_i`` *exactly*). In the disc frame (centre ``c_i`` on that axis,
  ``t`` anterior along ``a_i``, ``l`` left, ``s`` along ``u_i``) the disc is the elliptic cylinder
  ``(t/A)^2 + (l/W)^2 <= 1`` cut by the two endplates ``|s| <= h_mid/2 + t*tan(wedge/2)``; the
  endplates are the adjacent bodies' endplates (body ``i`` is tilted by ``-wedge/2``, body
  ``i + 1`` by ``+wedge/2`` about the lateral axis). All lordosis lives in the disc wedges.
  Consequently, on the footprint (the ellipse, the disc's projection along ``u_i``) the height is
  ``h(t) = h_mid + 2 t tan(wedge/2)``: linear in the AP coordinate and symmetric about the
  footprint centre, so the mean and the median over any centred part of the footprint (e.g. the
  central 80 %) are both ``h_mid``, and the volume is ``pi * A * W * h_mid``. ``u_i`` is also an exact
  principal axis of the disc (its thinnest), so the "no vertebrae" fallback gives the same axis.
* **Canal**: a CSF tube behind the column, piecewise straight: within the segment of disc ``i``
  (between mitre planes through ``B_i`` and ``B_{i+1}``) it is an elliptic cylinder along ``u_i``
  centred at ``t = -D`` (``D`` the same for all levels, so segments meet exactly) with lateral
  semi-axis ``canal_width/2`` and AP semi-axis ``R(s)`` that equals ``canal_ap/2`` in the disc's
  mid-plane ``s = 0`` and relaxes smoothly to ``canal_body_ap/2`` away from it. The canal
  cross-section in the plane perpendicular to ``u_i`` through the disc centre is therefore exactly an
  ellipse with AP diameter ``canal_ap`` and area ``pi/4 * canal_ap * canal_width``, centred on the
  disc's AP line (so "disc centre -> canal centre" is exactly ``-a_i``).
* Background (unlabelled): soft tissue, paraspinal muscles, subcutaneous fat and the air behind the
  back follow the canal's centreline; epidural fat, posterior longitudinal ligament, aorta and IVC.

Sampling: labels are the continuous shapes evaluated at voxel centres (no partial volume); the
image averages ``supersample`` positions across the thick slice axis (partial volume of thick
slices), then adds a smooth tissue texture, a slight in-plane blur, a smooth multiplicative bias
field and Rician noise. The anatomy is fixed by the geometric parameters; ``seed`` drives only the
texture, the nucleus signal, the bias field and the noise, so two grids with the same anatomy
parameters show the same anatomy in LPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

from . import anatomy
from .image import Geometry, SpatialImage, lps_to_ras

# ------------------------------------------------------------------------------------------------
# Tissue classes, numbered by painting priority: where shapes overlap the higher class wins.
(SOFT, OUTSIDE, FAT, MUSCLE, VESSEL, LIGAMENT, EPIFAT, BONE, CSF, ROOT, CORTEX, MARROW, ANNULUS,
 NUCLEUS) = range(1, 15)
N_CLASSES = 16

#: Base intensities per tissue class (relative units; CSF in T2 and fat in T1 are ~1).
INTENSITIES = {
    "T2": {SOFT: 0.30, OUTSIDE: 0.0, FAT: 0.80, MUSCLE: 0.20, VESSEL: 0.05, LIGAMENT: 0.06, EPIFAT: 0.72,
           BONE: 0.48, CSF: 1.00, ROOT: 0.32, CORTEX: 0.07, MARROW: 0.45, ANNULUS: 0.22, NUCLEUS: 0.85},
    "T1": {SOFT: 0.40, OUTSIDE: 0.0, FAT: 0.95, MUSCLE: 0.33, VESSEL: 0.10, LIGAMENT: 0.06, EPIFAT: 0.90,
           BONE: 0.62, CSF: 0.12, ROOT: 0.35, CORTEX: 0.07, MARROW: 0.72, ANNULUS: 0.30, NUCLEUS: 0.36},
}
#: Relative amplitude of the smooth texture per class (marrow is mottled, soft tissue heterogeneous).
TEXTURE = {SOFT: 0.18, FAT: 0.06, MUSCLE: 0.12, BONE: 0.15, MARROW: 0.18, EPIFAT: 0.06, CSF: 0.02,
           ANNULUS: 0.08, NUCLEUS: 0.06}

CORTEX_MM = 1.2  # cortical rim of the vertebral bodies

# Default adult lumbar dimensions: vertebral body (AP semi-axis, lateral semi-axis, height) in mm.
_BODY_DEFAULTS = {
    "T11": (13.0, 18.0, 22.0), "T12": (14.0, 19.0, 23.0), "L1": (15.0, 20.0, 25.0), "L2": (15.5, 21.0, 26.0),
    "L3": (16.0, 22.0, 27.0), "L4": (16.5, 23.0, 27.0), "L5": (17.0, 24.0, 26.0), "S1": (16.0, 24.0, 24.0),
}
# Disc mid-height (mm) and wedge angle (deg, anterior taller when positive).
_DISC_HEIGHT_DEFAULTS = {"T11-T12": 6.0, "T12-L1": 7.0, "L1-L2": 8.0, "L2-L3": 9.0, "L3-L4": 10.0,
                         "L4-L5": 11.0, "L5-S1": 10.0}
_DISC_WEDGE_DEFAULTS = {"T11-T12": 0.0, "T12-L1": 1.5, "L1-L2": 3.0, "L2-L3": 5.0, "L3-L4": 7.0,
                        "L4-L5": 10.0, "L5-S1": 14.0}
# Loss of nucleus T2 signal (fraction) per level: lower discs are a little degenerated.
_DEGENERATION_DEFAULTS = {"L3-L4": 0.05, "L4-L5": 0.15, "L5-S1": 0.25}

CANAL_GAP_MM = 3.0  # minimum gap between a disc's posterior rim and the canal (ligament)

Number = Union[int, float]
PerLevel = Union[None, Number, Sequence[Number], Mapping[str, Number]]


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
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


def _sagittal_dirs(theta_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(axis, ap) unit vectors in LPS for a spine axis tilted ``theta`` degrees anteriorly from +S."""
    th = math.radians(theta_deg)
    axis = np.array([0.0, -math.sin(th), math.cos(th)])
    ap = np.array([0.0, -math.cos(th), -math.sin(th)])
    return axis, ap


_LAT = np.array([1.0, 0.0, 0.0])
_GLOBAL = Frame(np.zeros(3), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))


@dataclass
class _Painter:
    """One piece of anatomy: a frame, a local bounding box and a function of local coordinates."""

    name: str
    frame: Frame
    bbox: Optional[tuple]  # ((t0, t1), (l0, l1), (s0, s1)) in the frame; None = whole grid
    fn: Callable  # (t, l, s) -> list of (bool mask, tissue class)
    inst: int  # instance number (1..255)
    labels: dict = field(default_factory=dict)  # tissue class -> label value for this instance
    gain: dict = field(default_factory=dict)  # tissue class -> intensity factor for this instance


# ------------------------------------------------------------------------------------------------
@dataclass
class _Vertebra:
    name: str
    label: int
    A: float
    W: float
    H: float
    theta: float  # tilt of the body axis (deg, anterior from +S)
    centre: np.ndarray = None

    @property
    def frame(self) -> Frame:
        axis, ap = _sagittal_dirs(self.theta)
        return Frame(self.centre, ap, _LAT, axis)


@dataclass
class _Disc:
    name: str
    label: int
    upper: _Vertebra
    lower: _Vertebra
    h_mid: float
    wedge: float  # deg
    A: float
    W: float
    canal_ap: float
    centre: np.ndarray = None
    degeneration: float = 0.0

    @property
    def alpha(self) -> float:
        return self.upper.theta + self.wedge / 2.0

    @property
    def tan_half(self) -> float:
        return math.tan(math.radians(self.wedge) / 2.0)

    @property
    def frame(self) -> Frame:
        axis, ap = _sagittal_dirs(self.alpha)
        return Frame(self.centre, ap, _LAT, axis)

    def half_height(self, t):
        return self.h_mid / 2.0 + t * self.tan_half

    def height_at(self, t) -> float:
        return float(2.0 * self.half_height(t))


class SpineModel:
    """The continuous anatomy (LPS mm). Build with :func:`_build_spine`; sample with :meth:`rasterize`."""

    def __init__(self, vertebrae, discs, canal_offset, canal_body_ap, canal_width, nucleus_gain):
        self.vertebrae: list[_Vertebra] = vertebrae
        self.discs: list[_Disc] = discs
        self.canal_offset = canal_offset  # D: canal centre at t = -D in every disc frame
        self.canal_body_ap = canal_body_ap
        self.canal_width = canal_width
        self.canal_label = anatomy.canal().label
        self.painters: list[_Painter] = []
        self._nucleus_gain = nucleus_gain
        self._make_painters()

    # --- canal -----------------------------------------------------------------------------
    def _canal_radius(self, d: _Disc, s):
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
            fn = _body_fn(v.A, v.W, v.H, D, rb, rw)
            bb = ((-D - rb - 40.0, v.A + 1.0), (-max(v.W, rw + 10.0) - 1, max(v.W, rw + 10.0) + 1),
                  (-v.H / 2 - 1.0, v.H / 2 + 1.0))
            self.painters.append(_Painter(v.name, v.frame, bb, fn, inst, {CORTEX: v.label, MARROW: v.label}))
            inst += 1
        for i, d in enumerate(self.discs):
            fn = _disc_fn(d.A, d.W, d.h_mid, d.tan_half)
            hs = d.h_mid / 2 + d.A * abs(d.tan_half) + 1.0
            bb = ((-d.A - 1, d.A + 1), (-d.W - 1, d.W + 1), (-hs, hs))
            gain = {NUCLEUS: self._nucleus_gain.get(d.name, 1.0)}
            self.painters.append(_Painter(d.name, d.frame, bb, fn, inst, {ANNULUS: d.label, NUCLEUS: d.label}, gain))
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
            fn = _segment_fn(self, d, clip)
            bb = ((t0, t1), (-30.0, 30.0), (s_lo, s_hi))
            self.painters.append(_Painter(f"canal:{d.name}", d.frame, bb, fn, inst, {CSF: cl, ROOT: cl}))
            inst += 1
        self.painters.append(_Painter("background", _GLOBAL, None, _background_fn(self), inst))

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
            inten[(cls << 8):(cls << 8) + 256] = val
            tex[(cls << 8):(cls << 8) + 256] = TEXTURE.get(cls, 0.03)
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
            sl = _block(pa, geom, thick_axis, nsub)
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


def _block(pa: _Painter, geom: Geometry, thick_axis, nsub):
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


# --- shape functions (local coordinates in, masks out) ---------------------------------------
def _body_fn(A, W, H, D, rb, rw):
    c = CORTEX_MM
    tc = -D
    lp = rw + 3.5
    tsp = tc - rb - 21.0

    def fn(t, l, s):
        abs_s = np.abs(s)
        abs_l = np.abs(l)
        body = ((t / A) ** 2 + (l / W) ** 2 <= 1.0) & (abs_s <= H / 2.0)
        marrow = ((t / (A - c)) ** 2 + (l / (W - c)) ** 2 <= 1.0) & (abs_s <= H / 2.0 - c)
        ped = (t <= -A + 2.0) & (t >= tc) & (((abs_l - lp) / 3.5) ** 2 + ((s - 1.0) / 6.0) ** 2 <= 1.0)
        dt = t - tc
        arch = ((t <= tc + 2.0) & (s >= -10.0) & (s <= 6.0)
                & ((dt / (rb + 7.0)) ** 2 + (l / (rw + 7.0)) ** 2 <= 1.0)
                & ((dt / (rb + 1.5)) ** 2 + (l / (rw + 1.0)) ** 2 > 1.0))
        spin = (abs_l <= 3.0) & (((t - tsp) / 17.0) ** 2 + ((s + 4.0) / 7.0) ** 2 <= 1.0)
        return [(ped | arch | spin, BONE), (body, CORTEX), (marrow, MARROW)]

    return fn


def _disc_fn(A, W, h_mid, tq):
    def fn(t, l, s):
        sup = h_mid / 2.0 + t * tq
        abs_s = np.abs(s)
        disc = ((t / A) ** 2 + (l / W) ** 2 <= 1.0) & (abs_s <= sup)
        nuc = (((t + 0.1 * A) / (0.6 * A)) ** 2 + (l / (0.6 * W)) ** 2 <= 1.0) & (abs_s <= 0.6 * sup)
        return [(disc, ANNULUS), (nuc, NUCLEUS)]

    return fn


def _segment_fn(model: SpineModel, d: _Disc, clip):
    D = model.canal_offset
    rb = model.canal_body_ap / 2.0
    rw = model.canal_width / 2.0
    tc = -D
    A = d.A

    def fn(t, l, s):
        inside = None
        for ct, cs, c0 in clip:
            m = (ct * t + cs * s + c0) <= 1e-3
            inside = m if inside is None else inside & m
        r = model._canal_radius(d, s)
        dt = t - tc
        canal = (dt / r) ** 2 + (l / rw) ** 2 <= 1.0
        roots = canal & ((((dt + 0.35 * r) ** 2 + (l - 4.0) ** 2) <= 1.1) | (((dt + 0.35 * r) ** 2 + (l + 4.0) ** 2) <= 1.1)
                         | (((dt + 0.55 * r) ** 2 + l ** 2) <= 1.1))
        epi = ((dt + 2.0) / (rb + 2.0)) ** 2 + (l / (rw - 1.0)) ** 2 <= 1.0
        lig = (t > tc) & (t <= -A + 1.0) & (np.abs(l) <= 0.8 * rw)
        aorta = ((t - A - 13.0) ** 2 + (l - 14.0) ** 2) <= 81.0
        ivc = ((t - A - 12.0) / 8.0) ** 2 + ((l + 17.0) / 11.0) ** 2 <= 1.0
        out = [(aorta | ivc, VESSEL), (lig, LIGAMENT), (epi, EPIFAT), (canal, CSF), (roots, ROOT)]
        if inside is not None:
            out = [(m & inside, c) for m, c in out]
        return out

    return fn


def _background_fn(model: SpineModel):
    zc, yc = model.canal_centreline()
    back, fat = 75.0, 15.0

    def fn(x, y, z):
        d = y - np.interp(z, zc, yc).astype(np.float32)  # posterior distance from the canal centre
        outside = d > back
        sub_fat = (d > back - fat) & ~outside
        muscle = ((d - 33.0) / 22.0) ** 2 + ((np.abs(x) - 22.0) / 17.0) ** 2 <= 1.0
        return [(outside, OUTSIDE), (sub_fat, FAT), (muscle, MUSCLE)]

    return fn


# ------------------------------------------------------------------------------------------------
def _per_level(value: PerLevel, names: Sequence[str], defaults: Mapping[str, float], what: str) -> list[float]:
    if value is None:
        return [float(defaults[n]) for n in names]
    if isinstance(value, Mapping):
        norm = {anatomy.normalize_name(k): float(v) for k, v in value.items()}
        return [norm.get(n, float(defaults[n])) for n in names]
    if np.isscalar(value):
        return [float(value)] * len(names)
    vals = [float(v) for v in value]
    if len(vals) != len(names):
        raise ValueError(f"{what}: {len(vals)} values given for {len(names)} levels {list(names)}")
    return vals


def _build_spine(levels, *, body_dims=None, disc_heights=None, disc_wedges=None, lordosis_deg=None,
                 canal_ap=None, canal_body_ap=17.0, canal_width=22.0, tilt_deg=0.0, first_theta=None,
                 degeneration=None, anchor="bodies") -> SpineModel:
    names = [anatomy.normalize_name(n) for n in levels]
    order = [v.name for v in anatomy.vertebrae()]
    for n in names:
        if n not in order:
            raise ValueError(f"'{n}' is not a vertebra of the anatomy scheme ({', '.join(order)})")
    idx = [order.index(n) for n in names]
    if len(names) < 2 or any(b != a + 1 for a, b in zip(idx, idx[1:])):
        raise ValueError(f"levels must be at least two consecutive vertebrae cranial to caudal, got {names}")
    disc_names = [f"{a}-{b}" for a, b in zip(names, names[1:])]
    hts = _per_level(disc_heights, disc_names, _DISC_HEIGHT_DEFAULTS, "disc_heights")
    wdg = _per_level(disc_wedges, disc_names, _DISC_WEDGE_DEFAULTS, "disc_wedges_deg")
    if lordosis_deg is not None:
        total = sum(wdg)
        wdg = [lordosis_deg / len(wdg)] * len(wdg) if abs(total) < 1e-9 else [w * lordosis_deg / total for w in wdg]
    cap = _per_level(canal_ap, disc_names, {n: 15.0 for n in disc_names}, "canal_ap_mm")
    deg = _per_level(degeneration, disc_names, {n: _DEGENERATION_DEFAULTS.get(n, 0.0) for n in disc_names},
                     "degeneration")
    dims = [tuple(float(x) for x in (body_dims or {}).get(n, _BODY_DEFAULTS[n])) for n in names]

    if first_theta is None:
        first_theta = -0.3 * sum(wdg)
    verts = []
    theta = first_theta + tilt_deg
    for n, (A, W, H), k in zip(names, dims, range(len(names))):
        verts.append(_Vertebra(n, anatomy.by_name(n).label, A, W, H, theta))
        if k < len(wdg):
            theta += wdg[k]
    discs = []
    verts[0].centre = np.zeros(3)
    for i, dn in enumerate(disc_names):
        up, lo = verts[i], verts[i + 1]
        d = _Disc(dn, anatomy.by_name(dn).label, up, lo, hts[i], wdg[i], (up.A + lo.A) / 2, (up.W + lo.W) / 2,
                  cap[i], degeneration=deg[i])
        if d.h_mid <= 0 or d.half_height(-d.A) <= 0.25 or d.half_height(d.A) <= 0.25:
            raise ValueError(f"disc {dn}: height {d.h_mid} mm with a wedge of {d.wedge} deg leaves no disc at its rim")
        u = d.frame.axis
        cos_h = math.cos(math.radians(d.wedge) / 2)
        d_up = d.h_mid / 2 + up.H / (2 * cos_h)
        d_lo = d.h_mid / 2 + lo.H / (2 * cos_h)
        d.centre = up.centre - d_up * u
        lo.centre = d.centre - d_lo * u
        discs.append(d)
    # anchor: the middle of the body centres' bounding box at the LPS origin (or the single disc centre)
    pts = np.array([v.centre for v in verts])
    shift = -(pts.min(0) + pts.max(0)) / 2 if anchor == "bodies" else -discs[0].centre
    for v in verts:
        v.centre = v.centre + shift
    for d in discs:
        d.centre = d.centre + shift
    D = max(d.A + CANAL_GAP_MM + max(canal_body_ap, d.canal_ap) / 2 for d in discs)
    gains = {d.name: 1.0 - d.degeneration for d in discs}
    return SpineModel(verts, discs, D, canal_body_ap, canal_width, gains)


# ------------------------------------------------------------------------------------------------
@dataclass
class Phantom:
    """A synthetic image, its exact label map and its ground truth.

    ``image``: float32 intensities (relative units, ~0-1.2). ``labels``: uint8 label map on the same
    grid, values from the anatomy scheme. ``label_names``: value -> segment name of the labels present.
    ``truth``: JSON-serialisable dict, see :func:`make_lumbar_phantom`. ``model``: the continuous
    anatomy; :meth:`label_at` evaluates it at arbitrary LPS points (for independent checks).
    """

    image: SpatialImage
    labels: SpatialImage
    label_names: dict
    truth: dict
    model: SpineModel = field(repr=False, default=None)

    def label_at(self, points_lps) -> np.ndarray:
        """Label values of the continuous anatomy at LPS points (..., 3) (same rule as the voxels)."""
        return self.model.label_at(points_lps)

    def disc(self, level: str) -> dict:
        return self.truth["discs"][anatomy.normalize_name(level)]


_ORIENTATIONS = {
    # columns: directions (LPS) of the i, j, k axes as a scanner writes them
    "sagittal": np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),  # i->P, j->I, k->R
    "coronal": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),  # i->L, j->I, k->P
    "axial": np.eye(3),  # i->L, j->P, k->S
}


def _grid(spacing, orientation, direction, fov, centre) -> Geometry:
    spacing = np.asarray(spacing, dtype=float).reshape(3)
    if direction is None:
        try:
            direction = _ORIENTATIONS[orientation]
        except KeyError:
            raise ValueError(f"orientation must be one of {sorted(_ORIENTATIONS)}, got {orientation!r}") from None
    direction = np.asarray(direction, dtype=float).reshape(3, 3)
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise ValueError("direction must be orthonormal (columns = unit directions of the i, j, k axes in LPS)")
    fov = np.asarray(fov, dtype=float).reshape(3)
    size = np.maximum(1, np.round(fov / spacing)).astype(int)
    origin = np.asarray(centre, float) - (direction * spacing[None, :]) @ ((size - 1) / 2.0)
    return Geometry(tuple(size), spacing, origin, direction)


def _smooth_noise(shape, rng, cell_vox) -> np.ndarray:
    """Unit-variance smooth random field (trilinear upsampling of coarse Gaussian noise)."""
    from scipy import ndimage

    coarse_shape = [max(2, int(math.ceil(n / c)) + 2) for n, c in zip(shape, cell_vox)]
    coarse = rng.standard_normal(coarse_shape).astype(np.float32)
    coarse = ndimage.gaussian_filter(coarse, 0.7)
    coarse /= coarse.std() + 1e-6
    factors = [c for c in cell_vox]
    out = ndimage.zoom(coarse, factors, order=1, prefilter=False, grid_mode=False)
    return out[tuple(slice(0, n) for n in shape)].astype(np.float32)


def _synthesize(model: SpineModel, geom: Geometry, *, seed, contrast, noise, bias_field, supersample, blur_mm):
    from scipy import ndimage

    contrast = contrast.upper()
    if contrast not in INTENSITIES:
        raise ValueError(f"contrast must be one of {sorted(INTENSITIES)}, got {contrast!r}")
    sp = geom.spacing
    thick = int(np.argmax(sp))
    if supersample is None:
        supersample = 3 if sp[thick] >= 1.5 * np.min(sp) else 1
    nsub = int(supersample)
    if nsub > 1:
        offsets = (np.arange(nsub) - (nsub - 1) / 2.0) / nsub  # centres of nsub equal sub-slabs
        if nsub % 2 == 0:
            raise ValueError("supersample must be odd so that labels are taken at voxel centres")
        codes = model.rasterize(geom, thick, offsets)
    else:
        thick, offsets = None, np.zeros(1)
        codes = model.rasterize(geom, None, offsets)

    def sub(q):
        if thick is None:
            return codes
        sl = [slice(None)] * 3
        sl[thick] = slice(q, None, nsub)
        return codes[tuple(sl)]

    label_lut = model.label_lut()
    inten_lut, tex_lut = model.intensity_luts(contrast)
    labels = label_lut[sub((nsub - 1) // 2 if thick is not None else 0)]
    pv = np.zeros(geom.size, np.float32)
    amp = np.zeros(geom.size, np.float32)
    for q in range(nsub if thick is not None else 1):
        c = sub(q)
        pv += inten_lut[c]
        amp += tex_lut[c]
    del codes
    n = float(nsub if thick is not None else 1)
    pv /= n
    amp /= n

    rng = np.random.default_rng(seed)
    cell = [max(1.0, 3.0 / s) for s in sp]  # texture correlation ~3 mm
    tex = _smooth_noise(geom.size, rng, cell)
    img = pv * (1.0 + amp * tex)
    if blur_mm and blur_mm > 0:
        sig = [0.0 if a == thick else blur_mm / sp[a] for a in range(3)]
        img = ndimage.gaussian_filter(img, sig, mode="nearest")
    if bias_field and bias_field > 0:
        axes = [np.linspace(-1.0, 1.0, n_, dtype=np.float32) for n_ in geom.size]
        u, v, w = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
        c = rng.normal(size=9).astype(np.float32)
        P = c[0] * u + c[1] * v + c[2] * w + c[3] * u * u + c[4] * v * v + c[5] * w * w + c[6] * u * v + c[7] * u * w + c[8] * v * w
        P = P / (np.abs(P).max() + 1e-6)
        img *= np.clip(1.0 + bias_field * P, 0.05, None)
    if noise and noise > 0:
        n1 = rng.standard_normal(geom.size, dtype=np.float32)
        n2 = rng.standard_normal(geom.size, dtype=np.float32)
        img = np.sqrt((img + noise * n1) ** 2 + (noise * n2) ** 2)
    img = np.maximum(img, 0).astype(np.float32)
    return SpatialImage(img, geom), SpatialImage(labels.astype(np.uint8), geom)


def _vec(v) -> list:
    return [round(float(x), 6) for x in v]


def _truth(model: SpineModel, labels: SpatialImage, extra: dict) -> dict:
    vox = labels.geometry.voxel_volume_mm3
    counts = np.bincount(labels.array.ravel(), minlength=256)
    D = model.canal_offset
    rw = model.canal_width / 2.0
    verts = {}
    for v in model.vertebrae:
        f = v.frame
        verts[v.name] = {
            "label": v.label,
            "centroid_lps": _vec(v.centre),
            "axis_lps": _vec(f.axis),
            "ap_direction_lps": _vec(f.ap),
            "vertebral_body_height_mm": float(v.H),
            "vertebral_body_ap_depth_mm": float(2 * v.A),
            "vertebral_body_width_mm": float(2 * v.W),
            "vertebral_body_volume_mm3": float(math.pi * v.A * v.W * v.H),
            "vertebral_body_volume_voxels_mm3": float(counts[v.label] * vox),
            "voxel_count": int(counts[v.label]),
        }
    discs = {}
    for d in model.discs:
        f = d.frame
        t_bar = 2.0 * d.tan_half * (d.A ** 2 / 4.0) / d.h_mid  # AP offset of the 3D centroid
        rd = d.canal_ap / 2.0
        lines = {}
        for key, t in (("disc_height_anterior_mm", 0.8 * d.A), ("disc_height_middle_mm", 0.0),
                       ("disc_height_posterior_mm", -0.8 * d.A)):
            hh = d.half_height(t)
            lines[key] = [_vec(f.point(t, 0, -hh)), _vec(f.point(t, 0, hh))]
        lines["canal_ap_diameter_mm"] = [_vec(f.point(-D + rd, 0, 0)), _vec(f.point(-D - rd, 0, 0))]
        hu, hl = d.upper.H, d.lower.H
        discs[d.name] = {
            "label": d.label,
            "upper_vertebra": d.upper.name,
            "lower_vertebra": d.lower.name,
            "disc_height_mm": float(d.h_mid),
            "disc_height_median_mm": float(d.h_mid),
            "disc_height_anterior_mm": d.height_at(0.8 * d.A),
            "disc_height_middle_mm": d.height_at(0.0),
            "disc_height_posterior_mm": d.height_at(-0.8 * d.A),
            "disc_height_index": float(d.h_mid / ((hu + hl) / 2.0)),
            "disc_wedge_deg": float(d.wedge),
            "disc_volume_mm3": float(math.pi * d.A * d.W * d.h_mid),
            "disc_volume_voxels_mm3": float(counts[d.label] * vox),
            "voxel_count": int(counts[d.label]),
            "disc_ap_depth_mm": float(2 * d.A),
            "disc_width_mm": float(2 * d.W),
            "canal_ap_diameter_mm": float(d.canal_ap),
            "canal_width_mm": float(model.canal_width),
            "canal_area_mm2": float(math.pi * rd * rw),
            "axis_lps": _vec(f.axis),
            "ap_direction_lps": _vec(f.ap),
            "lateral_direction_lps": _vec(f.lat),
            "disc_centre_lps": _vec(f.origin),
            "disc_centroid_lps": _vec(f.point(t_bar, 0, 0)),
            "canal_centre_lps": _vec(f.point(-D, 0, 0)),
            "lines_lps": lines,
        }
    g = labels.geometry
    return {
        "frame": "LPS",
        "units": "mm",
        "definitions": TRUTH_DEFINITIONS,
        "grid": {"size": list(g.size), "spacing_mm": _vec(g.spacing), "origin_lps": _vec(g.origin),
                 "direction": [_vec(r) for r in g.direction]},
        "voxel_volume_mm3": float(vox),
        "canal_voxel_count": int(counts[model.canal_label]),
        "discs": discs,
        "vertebrae": verts,
        "parameters": extra,
    }


TRUTH_DEFINITIONS = {
    "frame": "all positions and directions are LPS millimetres (x left, y posterior, z superior)",
    "axis_lps": "disc: unit vector from the centroid of the vertebral body below to the one above (the local "
                "spine axis of DESIGN section 3, and the disc's thinnest principal axis); vertebra: the body's own "
                "cylinder axis, pointing superior",
    "ap_direction_lps": "unit vector perpendicular to axis_lps in the mid-sagittal plane, pointing anterior",
    "disc_centre_lps": "centre of the disc footprint on axis_lps at mid-height (the 2D footprint centre)",
    "disc_centroid_lps": "3D centroid of the continuous disc (shifted anteriorly from disc_centre_lps when wedged); "
                         "it lies in the same plane perpendicular to axis_lps",
    "disc_height_mm": "mean over the central 80 % of the footprint (the footprint ellipse scaled by 0.8 about its "
                      "centre; any centred part gives the same value) of the disc's extent along axis_lps; equals "
                      "disc_height_median_mm and disc_height_middle_mm by symmetry",
    "disc_height_anterior_mm": "extent along axis_lps in the mid-sagittal plane at 10 % of the AP extent from the "
                               "anterior rim (posterior: 10 % from the posterior rim, middle: at 50 %)",
    "disc_volume_mm3": "volume of the continuous disc = pi * (AP/2) * (width/2) * disc_height_mm",
    "disc_volume_voxels_mm3": "voxels labelled with the disc (label at voxel centre) x voxel volume",
    "disc_height_index": "disc_height_mm / mean vertebral_body_height_mm of the two adjacent bodies",
    "canal_ap_diameter_mm": "in the plane perpendicular to axis_lps through the disc centre, the canal's extent "
                            "along -ap_direction_lps (disc centre -> canal centre) through the canal centre",
    "canal_area_mm2": "canal cross-section area in that plane (an exact ellipse: pi/4 * AP * width)",
    "vertebral_body_height_mm": "distance between the body's parallel endplates along its own axis_lps",
    "lines_lps": "endpoints [inferior/anterior, superior/posterior] of the measured lines (LPS); use "
                 "disccore.image.lps_to_ras for RAS",
}


# ------------------------------------------------------------------------------------------------
def make_lumbar_phantom(seed: int = 0, contrast: str = "T2", spacing=(0.5, 0.5, 4.0),
                        levels=("L1", "L2", "L3", "L4", "L5", "S1"), lordosis_deg: Optional[float] = None,
                        disc_heights: PerLevel = None, canal_ap_mm: PerLevel = None, orientation: str = "sagittal",
                        direction=None, noise: float = 0.03, bias_field: float = 0.2, fov=None, *,
                        disc_wedges_deg: PerLevel = None, canal_width_mm: float = 22.0,
                        canal_body_ap_mm: float = 17.0, tilt_deg: float = 0.0, degeneration: PerLevel = None,
                        supersample: Optional[int] = None, blur_mm: float = 0.35, centre_lps=None) -> Phantom:
    """A synthetic lumbar MRI with exact ground truth (see the module docstring for the geometry).

    Parameters (lengths in mm, angles in degrees):
      seed: drives texture, nucleus signal, bias field and noise only (not the anatomy).
      contrast: "T2" (CSF and nucleus bright, marrow intermediate) or "T1" (fat/marrow bright, CSF dark).
      spacing: voxel spacing along the i, j, k axes; the largest is the thick (slice) axis.
      levels: consecutive vertebrae cranial -> caudal; a disc is made between each pair.
      lordosis_deg: sum of the disc wedge angles (default 39 deg for L1..S1), distributed like the defaults.
      disc_heights / disc_wedges_deg / canal_ap_mm / degeneration: scalar, per-disc sequence, or
        {disc name: value} dict; disc_heights are mid heights, canal_ap_mm the canal AP diameter in
        each disc's mid-plane (canal_body_ap_mm elsewhere), degeneration the loss of nucleus T2 signal.
      orientation / direction: "sagittal" (default; i->P, j->I, k->R), "coronal" or "axial", or an
        explicit 3x3 direction matrix (columns = LPS directions of i, j, k; oblique allowed).
      fov: extent in mm along i, j, k (default 256 x 256 x 60 for sagittal/coronal, 256 x 256 x 240 axial).
      noise: Rician noise sigma relative to the brightest tissue (~1); bias_field: max relative
        amplitude of the smooth multiplicative field; tilt_deg: extra sagittal rotation of the spine.
      centre_lps: grid centre (default: the spine's centre, shifted 12 mm posterior).

    ``truth`` (JSON-serialisable, LPS mm) has ``discs`` {disc name: row} with disc_height_mm,
    disc_height_median_mm, disc_height_anterior/middle/posterior_mm, disc_volume_mm3 (continuous),
    disc_volume_voxels_mm3 (label count x voxel volume), disc_height_index, canal_ap_diameter_mm,
    canal_area_mm2, axis_lps, ap_direction_lps, disc_centre_lps, disc_centroid_lps, canal_centre_lps,
    lines_lps; and ``vertebrae`` {name: row} with centroid_lps, axis_lps, vertebral_body_height_mm,
    volumes. ``truth["definitions"]`` states each definition.
    """
    model = _build_spine(levels, disc_heights=disc_heights, disc_wedges=disc_wedges_deg, lordosis_deg=lordosis_deg,
                         canal_ap=canal_ap_mm, canal_body_ap=canal_body_ap_mm, canal_width=canal_width_mm,
                         tilt_deg=tilt_deg, degeneration=degeneration)
    if fov is None:
        fov = (256.0, 256.0, 240.0) if (direction is None and orientation == "axial") else (256.0, 256.0, 60.0)
    if centre_lps is None:
        centre_lps = np.array([0.0, 12.0, 0.0])
    geom = _grid(spacing, orientation, direction, fov, centre_lps)
    image, labels = _synthesize(model, geom, seed=seed, contrast=contrast, noise=noise, bias_field=bias_field,
                                supersample=supersample, blur_mm=blur_mm)
    params = {"kind": "lumbar", "seed": seed, "contrast": contrast.upper(), "levels": list(levels),
              "noise": noise, "bias_field": bias_field, "tilt_deg": tilt_deg}
    return _finish(model, image, labels, params)


def make_disc_phantom(height_anterior_mm: float = 12.0, height_posterior_mm: float = 8.0, tilt_deg: float = 0.0,
                      spacing=(0.5, 0.5, 4.0), direction=None, canal_ap_mm: float = 14.0,
                      canal_width_mm: float = 20.0, *, disc_ap_mm: float = 34.0, disc_width_mm: float = 46.0,
                      vertebral_height_mm: float = 25.0, canal_body_ap_mm: Optional[float] = None,
                      levels=("L4", "L5"), orientation: str = "sagittal", fov=(110.0, 110.0, 70.0), seed: int = 0,
                      contrast: str = "T2", noise: float = 0.0, bias_field: float = 0.0,
                      supersample: Optional[int] = None, blur_mm: float = 0.0, centre_lps=None) -> Phantom:
    """One wedge-shaped disc between two identical vertebral bodies, with a canal; exact truth.

    The disc centre is at the LPS origin. ``height_anterior_mm`` / ``height_posterior_mm`` are the
    heights along the disc axis at 10 % of the AP extent from the anterior / posterior rim in the
    mid-sagittal plane (DESIGN section 3), so the mid height is their mean and the wedge angle follows.
    ``tilt_deg`` tilts the disc axis anteriorly from +S in the sagittal plane. ``canal_ap_mm`` /
    ``canal_width_mm`` describe the canal's elliptic cross-section in the disc's mid-plane; the canal
    has that constant section unless ``canal_body_ap_mm`` is given. ``disc_ap_mm`` / ``disc_width_mm``
    are the footprint diameters (the bodies share them). Noise, bias and blur are off by default.
    The truth has the same layout as :func:`make_lumbar_phantom`'s.
    """
    A, W = disc_ap_mm / 2.0, disc_width_mm / 2.0
    h_mid = (height_anterior_mm + height_posterior_mm) / 2.0
    wedge = 2.0 * math.degrees(math.atan((height_anterior_mm - height_posterior_mm) / (3.2 * A)))
    names = [anatomy.normalize_name(n) for n in levels]
    if len(names) != 2:
        raise ValueError("make_disc_phantom needs exactly two vertebrae (levels=('L4', 'L5'))")
    body = {n: (A, W, float(vertebral_height_mm)) for n in names}
    cb = canal_ap_mm if canal_body_ap_mm is None else canal_body_ap_mm
    model = _build_spine(names, body_dims=body, disc_heights=[h_mid], disc_wedges=[wedge], canal_ap=[canal_ap_mm],
                         canal_body_ap=cb, canal_width=canal_width_mm, first_theta=tilt_deg - wedge / 2.0,
                         degeneration=[0.0], anchor="disc")
    d = model.discs[0]
    if centre_lps is None:
        centre_lps = d.frame.point(-model.canal_offset / 2.0, 0, 0)
    geom = _grid(spacing, orientation, direction, fov, centre_lps)
    image, labels = _synthesize(model, geom, seed=seed, contrast=contrast, noise=noise, bias_field=bias_field,
                                supersample=supersample, blur_mm=blur_mm)
    params = {"kind": "disc", "height_anterior_mm": height_anterior_mm, "height_posterior_mm": height_posterior_mm,
              "tilt_deg": tilt_deg, "canal_ap_mm": canal_ap_mm, "canal_width_mm": canal_width_mm, "seed": seed,
              "contrast": contrast.upper()}
    return _finish(model, image, labels, params)


def _finish(model, image, labels, params) -> Phantom:
    present = set(np.unique(labels.array).tolist()) - {0}
    names = {v: n for v, n in anatomy.default_label_names().items() if v in present}
    return Phantom(image, labels, names, _truth(model, labels, params), model)


def truth_lines_ras(truth_disc: dict) -> dict:
    """The disc row's ``lines_lps`` converted to RAS: {measurement: (start_ras, end_ras)}."""
    return {k: (tuple(lps_to_ras(a)), tuple(lps_to_ras(b))) for k, (a, b) in truth_disc["lines_lps"].items()}
