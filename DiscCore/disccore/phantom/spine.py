"""Building the continuous spine from per-level parameters (defaults: an adult lumbar spine)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .. import anatomy
from .model import DiscModel, SpineModel, VertebraModel

# Default adult lumbar dimensions: vertebral body (AP semi-axis, lateral semi-axis, height) in mm.
_BODY_DEFAULTS = {
    "T11": (13.0, 18.0, 22.0),
    "T12": (14.0, 19.0, 23.0),
    "L1": (15.0, 20.0, 25.0),
    "L2": (15.5, 21.0, 26.0),
    "L3": (16.0, 22.0, 27.0),
    "L4": (16.5, 23.0, 27.0),
    "L5": (17.0, 24.0, 26.0),
    "S1": (16.0, 24.0, 24.0),
}
# Disc mid-height (mm) and wedge angle (deg, anterior taller when positive).
_DISC_HEIGHT_DEFAULTS = {
    "T11-T12": 6.0,
    "T12-L1": 7.0,
    "L1-L2": 8.0,
    "L2-L3": 9.0,
    "L3-L4": 10.0,
    "L4-L5": 11.0,
    "L5-S1": 10.0,
}
_DISC_WEDGE_DEFAULTS = {
    "T11-T12": 0.0,
    "T12-L1": 1.5,
    "L1-L2": 3.0,
    "L2-L3": 5.0,
    "L3-L4": 7.0,
    "L4-L5": 10.0,
    "L5-S1": 14.0,
}
# Loss of nucleus T2 signal (fraction) per level: lower discs are a little degenerated.
_DEGENERATION_DEFAULTS = {"L3-L4": 0.05, "L4-L5": 0.15, "L5-S1": 0.25}

# The sacrum below S1 (``sacrum_segments``): S2, S3, S4 bodies (AP semi-axis, lateral semi-axis, height, mm), smaller
# downwards, fused to the segment above across a rudimentary disc this high (as adult MRI shows them); unlabelled,
# since the anatomy scheme labels S1 only.
_SACRAL_BODIES = ((14.0, 21.0, 20.0), (11.5, 17.0, 17.0), (9.0, 13.0, 14.0))
SACRAL_REMNANT_MM = 1.0
_SACRAL_REMNANT_SIGNAL = 0.4  # a rudimentary disc's nucleus signal (share of a healthy one)

CANAL_GAP_MM = 3.0  # minimum gap between a disc's posterior rim and the canal (ligament)
MAX_ANTERIOR_LOSS = 0.8  # a wedge fracture keeps a fifth of its anterior height at least (no vertebra plana)

Number = Union[int, float]
PerLevel = Union[None, Number, Sequence[Number], Mapping[str, Number]]


def per_level(value: PerLevel, names: Sequence[str], defaults: Mapping[str, float], what: str) -> list[float]:
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


def _vertebrae(names, labels, dims, losses, disc_wedges, first_theta, tilt_deg) -> list[VertebraModel]:
    """The bodies (not yet placed), each tilted by the disc wedges and fractured bodies above it; ``first_theta``
    (None: from the lordosis, the wedges of the labelled discs) plus ``tilt_deg`` is the top body's upper endplate."""
    if any(not 0.0 <= f <= MAX_ANTERIOR_LOSS for f in losses):
        raise ValueError(f"fractures: the share of anterior height lost must be 0 to {MAX_ANTERIOR_LOSS}, not {losses}")
    verts = [
        VertebraModel(n, label, A, W, H, 0.0, anterior_loss=loss)
        for n, label, (A, W, H), loss in zip(names, labels, dims, losses)
    ]
    if first_theta is None:  # the spine's orientation in the image; a wedge fracture turns the part above it forward
        labelled_discs = sum(1 for label in labels[1:] if label)  # the sacral junctions below S1 are unlabelled
        first_theta = -0.3 * sum(disc_wedges[:labelled_discs]) + sum(v.wedge for v in verts)
    theta = first_theta + tilt_deg  # the next body's upper endplate
    for k, v in enumerate(verts):
        v.theta = theta - v.wedge / 2.0  # its axis halfway between its endplates
        theta = v.bottom_theta + (disc_wedges[k] if k < len(disc_wedges) else 0.0)
    return verts


def build_spine(
    levels,
    *,
    body_dims=None,
    disc_heights=None,
    disc_wedges=None,
    lordosis_deg=None,
    canal_ap=None,
    canal_body_ap=17.0,
    canal_width=22.0,
    root_layer=0.0,
    dura=0.0,
    tilt_deg=0.0,
    first_theta=None,
    degeneration=None,
    fractures=None,
    sacrum_segments=0,
    anchor="bodies",
) -> SpineModel:
    names = [anatomy.normalize_name(n) for n in levels]
    order = [v.name for v in anatomy.vertebrae()]
    for n in names:
        if n not in order:
            raise ValueError(f"'{n}' is not a vertebra of the anatomy scheme ({', '.join(order)})")
    idx = [order.index(n) for n in names]
    if len(names) < 2 or any(b != a + 1 for a, b in zip(idx, idx[1:])):
        raise ValueError(f"levels must be at least two consecutive vertebrae cranial to caudal, got {names}")
    disc_names = [f"{a}-{b}" for a, b in zip(names, names[1:])]
    sacrum = _sacrum(names, sacrum_segments, disc_heights, disc_wedges, degeneration, body_dims)
    hts = per_level(disc_heights, disc_names, _DISC_HEIGHT_DEFAULTS, "disc_heights")
    wdg = per_level(disc_wedges, disc_names, _DISC_WEDGE_DEFAULTS, "disc_wedges_deg")
    if lordosis_deg is not None:
        total = sum(wdg)
        wdg = [lordosis_deg / len(wdg)] * len(wdg) if abs(total) < 1e-9 else [w * lordosis_deg / total for w in wdg]
    cap = per_level(canal_ap, disc_names, {n: 15.0 for n in disc_names}, "canal_ap_mm")
    deg = per_level(
        degeneration, disc_names, {n: _DEGENERATION_DEFAULTS.get(n, 0.0) for n in disc_names}, "degeneration"
    )
    dims = [tuple(float(x) for x in (body_dims or {}).get(n, _BODY_DEFAULTS[n])) for n in names]
    losses = per_level(fractures, names, {n: 0.0 for n in names}, "fractures")
    labels = [anatomy.by_name(n).label for n in names] + [0] * len(sacrum.names)
    disc_labels = [anatomy.by_name(n).label for n in disc_names] + [0] * len(sacrum.names)
    n_labelled = len(names)
    names, disc_names = names + sacrum.names, disc_names + sacrum.disc_names
    hts, wdg, deg, dims = hts + sacrum.heights, wdg + sacrum.wedges, deg + sacrum.degeneration, dims + sacrum.dims
    cap, losses = cap + [canal_body_ap] * len(sacrum.names), losses + [0.0] * len(sacrum.names)
    verts = _vertebrae(names, labels, dims, losses, wdg, first_theta, tilt_deg)
    discs = _stacked_discs(verts, disc_names, disc_labels, hts, wdg, cap, deg)
    # anchor: the middle of the labelled body centres' bounding box at the LPS origin (or the single disc centre)
    pts = np.array([v.centre for v in verts[:n_labelled]])
    shift = -(pts.min(0) + pts.max(0)) / 2 if anchor == "bodies" else -discs[0].centre
    for v in verts:
        v.centre = v.centre + shift
    for d in discs:
        d.centre = d.centre + shift
    D = max(d.A + CANAL_GAP_MM + max(canal_body_ap, d.canal_ap) / 2 for d in discs)
    gains = {d.name: 1.0 - d.degeneration for d in discs}
    return SpineModel(verts, discs, D, canal_body_ap, canal_width, gains, root_layer, dura)


def _stacked_discs(verts, names, labels, heights, wedges, canal_ap, degeneration) -> list[DiscModel]:
    """The discs between consecutive bodies, each body placed below the one above it across its disc (the top body at
    the origin)."""
    discs = []
    verts[0].centre = np.zeros(3)
    for i, dn in enumerate(names):
        up, lo = verts[i], verts[i + 1]
        d = DiscModel(
            dn,
            labels[i],
            up,
            lo,
            heights[i],
            wedges[i],
            (up.A + lo.A) / 2,
            (up.W + lo.W) / 2,
            canal_ap[i],
            degeneration=degeneration[i],
        )
        if d.h_mid <= 0 or d.half_height(-d.A) <= 0.25 or d.half_height(d.A) <= 0.25:
            raise ValueError(f"disc {dn}: height {d.h_mid} mm with a wedge of {d.wedge} deg leaves no disc at its rim")
        u = d.frame.axis
        cos_h = math.cos(math.radians(d.wedge) / 2)
        d_up = d.h_mid / 2 + up.mid_height / (2 * cos_h)
        d_lo = d.h_mid / 2 + lo.mid_height / (2 * cos_h)
        d.centre = up.centre - d_up * u
        lo.centre = d.centre - d_lo * u
        discs.append(d)
    return discs


@dataclass
class _Sacrum:
    """The unlabelled sacral segments below S1 and the junctions above each of them."""

    names: list = field(default_factory=list)
    disc_names: list = field(default_factory=list)
    heights: list = field(default_factory=list)
    wedges: list = field(default_factory=list)
    degeneration: list = field(default_factory=list)
    dims: list = field(default_factory=list)


def _sacrum(names, segments: int, disc_heights, disc_wedges, degeneration, body_dims) -> _Sacrum:
    """``segments`` sacral bodies below S1 (S2 downwards), each fused to the one above across a rudimentary disc.
    Only an explicit ``{"S1-S2": value}`` entry in the per-level arguments changes a junction (a lumbarised S1 has a
    real disc below it); a scalar or a sequence there is for the labelled discs alone."""
    if segments == 0:
        return _Sacrum()
    if names[-1] != "S1" or not 0 < segments <= len(_SACRAL_BODIES):
        raise ValueError(
            f"sacrum_segments: 1 to {len(_SACRAL_BODIES)} sacral bodies below S1, not {segments} below {names[-1]}"
        )
    sacral = [f"S{k}" for k in range(2, segments + 2)]
    junctions = [f"{a}-{b}" for a, b in zip(["S1", *sacral], sacral)]

    def junction_values(value, default: float, what: str) -> list[float]:
        named = value if isinstance(value, Mapping) else None
        return per_level(named, junctions, {j: default for j in junctions}, what)

    return _Sacrum(
        sacral,
        junctions,
        junction_values(disc_heights, SACRAL_REMNANT_MM, "disc_heights"),
        junction_values(disc_wedges, 0.0, "disc_wedges_deg"),
        junction_values(degeneration, 1.0 - _SACRAL_REMNANT_SIGNAL, "degeneration"),
        [tuple(float(x) for x in (body_dims or {}).get(n, d)) for n, d in zip(sacral, _SACRAL_BODIES)],
    )
