"""Analytic lumbar phantoms whose measurements are known by construction (test helper, no disccore.phantom).

A straight stack of elliptic vertebral bodies and wedge-shaped discs around a spine axis, tilted in the
sagittal plane, with an elliptic canal behind it, sampled on any voxel grid (spacing, oblique direction,
LPS- or RAS-ordered). A voxel gets a label when its centre lies inside the analytic shape.

Local frame (mm), before tilting: ``a`` anterior = LPS (0, -1, 0), ``t`` along the spine axis pointing
caudally = LPS (0, 0, -1), ``l`` = t x a. The tilt rotates a and t about the left-right axis.
Disc k: ellipse (a/A)^2 + (l/B)^2 <= 1, |t - T_k| <= h_k(a)/2 with h_k(a) = h_mid + slope * a, so the
anterior height (at 10 % of the AP extent from the front, a = 0.8 A) is h_mid + 0.8 A slope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disccore.image import Geometry, SpatialImage


@dataclass
class DiscSpec:
    h_mid: float = 10.0  # mm, height at the footprint centre (= mean over the central 80 %)
    slope: float = 0.1  # mm of height per mm anteriorly (wedge)


@dataclass
class StackSpec:
    """A straight, tilted stack: vertebra, disc, vertebra, disc, ... vertebra."""

    discs: list = field(default_factory=lambda: [DiscSpec()])
    disc_ap_semi: float = 20.0  # A (mm)
    disc_lr_semi: float = 25.0  # B (mm)
    vertebra_height: float = 25.0  # Hv: height of each body at its centre (mm)
    tilt_deg: float = 0.0  # sagittal tilt of the spine axis
    canal_ap: float | None = 15.0  # full AP diameter (mm); None: no canal
    canal_lr: float | None = None  # full LR width (mm); default max(18, 1.1 x AP) (interpedicular widths are ~18-26 mm)
    canal_gap: float = 3.0  # from the disc's posterior rim to the canal (mm)
    centre_lps: tuple = (0.0, 0.0, 0.0)
    first_vertebra: str = "L4"


SCHEME_VERTEBRAE = ["T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]
SCHEME_VALUES = {"T11": 18, "T12": 19, "L1": 20, "L2": 21, "L3": 22, "L4": 23, "L5": 24, "S1": 26}


def frame_vectors(tilt_deg: float):
    """(anterior, lateral, axis) unit LPS vectors of the tilted stack."""
    th = np.radians(tilt_deg)
    a0 = np.array([0.0, -1.0, 0.0])
    t0 = np.array([0.0, 0.0, -1.0])
    # rotation about the LPS x (left-right) axis
    a = np.cos(th) * a0 + np.sin(th) * t0
    t = -np.sin(th) * a0 + np.cos(th) * t0
    return a, np.cross(t, a), t


def rotation(axis, deg) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    th = np.radians(deg)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(th) * k + (1 - np.cos(th)) * k @ k


def base_direction(order: str) -> tuple[np.ndarray, tuple]:
    """(direction, axis permutation of the (thick, fine, fine) spacing) for a sagittal acquisition.

    'LPS': i->L (thick), j->P, k->S. 'RAS': i->R (thick), j->A, k->S. 'native': the layout of the real
    ivd_native_masks (i->P, j->I, k->R thick).
    """
    if order == "LPS":
        return np.eye(3), (0, 1, 2)
    if order == "RAS":
        return np.diag([-1.0, -1.0, 1.0]), (0, 1, 2)
    if order == "native":
        return np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]), (2, 0, 1)
    raise ValueError(order)


def make_geometry(
    spacing_thick_fine: tuple,
    order: str = "LPS",
    oblique_deg: float = 0.0,
    extent_mm: float = 150.0,
    centre=(0.0, 0.0, 0.0),
    phase=(0.0, 0.0, 0.0),
    size=None,
) -> Geometry:
    """A grid centred on ``centre`` (LPS) covering a cube of ``extent_mm``.

    ``spacing_thick_fine`` = (across-slice, in-plane, in-plane) mm; ``phase`` shifts the grid by a
    fraction of a voxel; ``oblique_deg`` rotates the direction about an oblique axis.
    """
    base, perm = base_direction(order)
    direction = rotation((0.3, 0.5, 0.8), oblique_deg) @ base
    spacing = np.empty(3)
    for src, dst in enumerate(perm):
        spacing[dst] = spacing_thick_fine[src]
    if size is None:
        size = tuple(int(np.ceil(extent_mm / s)) + 1 for s in spacing)
    size = np.asarray(size)
    m = direction * spacing[None, :]
    origin = np.asarray(centre, float) - m @ ((size - 1) / 2.0 - np.asarray(phase))
    return Geometry(tuple(int(s) for s in size), spacing, origin, direction)


def _canal_lr(spec) -> float:
    return spec.canal_lr or max(18.0, 1.1 * spec.canal_ap)


def build_stack(spec: StackSpec, geometry: Geometry):
    """(labels SpatialImage, label_names, truth) for a stack sampled on ``geometry``.

    truth: {'discs': {level: {...}}, 'vertebrae': {name: {...}}} with heights (mm), volumes (mm3), canal
    AP diameter (mm) and area (mm2).
    """
    ea, el, et = frame_vectors(spec.tilt_deg)
    size = geometry.size
    ii, jj, kk = np.meshgrid(*[np.arange(s) for s in size], indexing="ij")
    idx = np.stack([ii, jj, kk], axis=-1).reshape(-1, 3)
    pts = geometry.index_to_lps(idx) - np.asarray(spec.centre_lps, float)
    a = pts @ ea
    l = pts @ el
    t = pts @ et
    del pts, idx, ii, jj, kk
    A, B = spec.disc_ap_semi, spec.disc_lr_semi
    ell = (a / A) ** 2 + (l / B) ** 2 <= 1.0
    n = len(spec.discs)
    hv = spec.vertebra_height
    # disc centres along t, stack centred on t = 0
    centres = []
    tc = 0.0
    for k, d in enumerate(spec.discs):
        if k:
            tc += spec.discs[k - 1].h_mid / 2 + hv + d.h_mid / 2
        centres.append(tc)
    shift = (centres[0] + centres[-1]) / 2
    centres = [c - shift for c in centres]
    lab = np.zeros(len(a), np.uint16)
    first = SCHEME_VERTEBRAE.index(spec.first_vertebra)
    names = SCHEME_VERTEBRAE[first : first + n + 1]
    label_names = {}
    truth = {"discs": {}, "vertebrae": {}}
    lower_surface_prev = centres[0] - spec.discs[0].h_mid / 2 - hv + 0.0 * a  # top of the first body (flat)
    for k, d in enumerate(spec.discs):
        h = d.h_mid + d.slope * a
        top = centres[k] - h / 2
        bot = centres[k] + h / 2
        vname = names[k]
        lab[ell & (t >= lower_surface_prev) & (t < top)] = SCHEME_VALUES[vname]
        level = f"{names[k]}-{names[k + 1]}"
        value = 100 + SCHEME_VALUES[names[k]]
        lab[ell & (t >= top) & (t <= bot)] = value
        label_names[SCHEME_VALUES[vname]] = vname
        label_names[value] = level
        lower_surface_prev = bot
        dtruth = {
            "disc_height_mm": d.h_mid,
            "disc_height_median_mm": d.h_mid,
            "disc_height_anterior_mm": d.h_mid + 0.8 * A * d.slope,
            "disc_height_middle_mm": d.h_mid,
            "disc_height_posterior_mm": d.h_mid - 0.8 * A * d.slope,
            "disc_volume_mm3": np.pi * A * B * d.h_mid,
            "centre_t": centres[k],
        }
        if spec.canal_ap is not None:
            cb = _canal_lr(spec) / 2
            dtruth["canal_ap_diameter_mm"] = spec.canal_ap
            dtruth["canal_area_mm2"] = np.pi * spec.canal_ap / 2 * cb
        truth["discs"][level] = dtruth
    vlast = names[n]
    end = centres[-1] + spec.discs[-1].h_mid / 2 + hv
    lab[ell & (t > lower_surface_prev) & (t <= end)] = SCHEME_VALUES[vlast]
    label_names[SCHEME_VALUES[vlast]] = vlast
    for vname in names:
        truth["vertebrae"][vname] = {"vertebra_volume_mm3": np.pi * A * B * hv}
    if spec.canal_ap is not None:
        ca = spec.canal_ap / 2
        cb = _canal_lr(spec) / 2
        ac = -(A + spec.canal_gap + ca)
        start = centres[0] - spec.discs[0].h_mid / 2 - hv
        can = (((a - ac) / ca) ** 2 + (l / cb) ** 2 <= 1.0) & (t >= start) & (t <= end) & (lab == 0)
        lab[can] = 201
        label_names[201] = "canal"
    labels = SpatialImage(lab.reshape(size), geometry)
    return labels, label_names, truth


def random_stack(rng, spacing, min_oblique_deg: float = 0.0):
    """(labels, names, truth) of a random one-disc stack with a canal (height 7-13 mm, wedge, tilt up to 35 deg,
    canal AP 8-20 mm) on a random grid (LPS, RAS or native array order, oblique by min_oblique_deg-10 deg): what the
    measurement sweep test and benchmarks/phantom_accuracy.py measure."""
    spec = StackSpec(
        discs=[DiscSpec(rng.uniform(7, 13), rng.uniform(-0.08, 0.15))],
        tilt_deg=rng.uniform(0, 35),
        canal_ap=rng.uniform(8, 20),
        disc_ap_semi=rng.uniform(17, 22),
        disc_lr_semi=rng.uniform(21, 27),
    )
    geom = make_geometry(
        spacing,
        str(rng.choice(["LPS", "RAS", "native"])),
        oblique_deg=rng.uniform(min_oblique_deg, 10),
        extent_mm=105.0,
        phase=tuple(rng.uniform(0, 1, 3)),
    )
    return build_stack(spec, geom)
