"""The anatomy's shapes as functions of local frame coordinates (t anterior, l left, s along the axis; mm):
each returns the masks it paints, with their tissue classes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .tissues import (
    ANNULUS,
    BONE,
    CORTEX,
    CORTEX_MM,
    CSF,
    DURA,
    EPIFAT,
    FAT,
    LIGAMENT,
    MARROW,
    MUSCLE,
    NUCLEUS,
    OUTSIDE,
    ROOT,
    VESSEL,
)

if TYPE_CHECKING:
    from .model import DiscModel, SpineModel, VertebraModel


def body_shape(v: VertebraModel, D, rb, rw):
    """A vertebral body (an elliptic cylinder between its endplates, wedged where it is fractured) with its posterior
    elements (unlabelled bone)."""
    A, W, c = v.A, v.W, CORTEX_MM
    tc = -D
    lp = rw + 3.5
    tsp = tc - rb - 21.0

    def fn(t, l, s):
        abs_s = np.abs(s)
        abs_l = np.abs(l)
        te = t - v.centre_shift  # the ellipse's own AP coordinate
        half = v.mid_height / 2.0 - te * v.tan_half
        body = ((te / A) ** 2 + (l / W) ** 2 <= 1.0) & (abs_s <= half)
        marrow = ((te / (A - c)) ** 2 + (l / (W - c)) ** 2 <= 1.0) & (abs_s <= half - c)
        ped = (t <= -A + 2.0) & (t >= tc) & (((abs_l - lp) / 3.5) ** 2 + ((s - 1.0) / 6.0) ** 2 <= 1.0)
        dt = t - tc
        arch = (
            (t <= tc + 2.0)
            & (s >= -10.0)
            & (s <= 6.0)
            & ((dt / (rb + 7.0)) ** 2 + (l / (rw + 7.0)) ** 2 <= 1.0)
            & ((dt / (rb + 1.5)) ** 2 + (l / (rw + 1.0)) ** 2 > 1.0)
        )
        spin = (abs_l <= 3.0) & (((t - tsp) / 17.0) ** 2 + ((s + 4.0) / 7.0) ** 2 <= 1.0)
        return [(ped | arch | spin, BONE), (body, CORTEX), (marrow, MARROW)]

    return fn


def disc_shape(A, W, h_mid, tq):
    def fn(t, l, s):
        sup = h_mid / 2.0 + t * tq
        abs_s = np.abs(s)
        disc = ((t / A) ** 2 + (l / W) ** 2 <= 1.0) & (abs_s <= sup)
        nuc = (((t + 0.1 * A) / (0.6 * A)) ** 2 + (l / (0.6 * W)) ** 2 <= 1.0) & (abs_s <= 0.6 * sup)
        return [(disc, ANNULUS), (nuc, NUCLEUS)]

    return fn


def canal_segment_shape(model: SpineModel, d: DiscModel, clip):
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
        roots = canal & (
            (((dt + 0.35 * r) ** 2 + (l - 4.0) ** 2) <= 1.1)
            | (((dt + 0.35 * r) ** 2 + (l + 4.0) ** 2) <= 1.1)
            | (((dt + 0.55 * r) ** 2 + l**2) <= 1.1)
        )
        if model.root_layer > 0:  # the cauda equina settled against the posterior wall (supine), at most half the sac
            roots |= canal & (dt < np.minimum(model.root_layer, 0.5 * r) - r) & (np.abs(l) <= 0.6 * rw)
        dura = (dt / (r + model.dura)) ** 2 + (l / (rw + model.dura)) ** 2 <= 1.0  # a dark wall around the sac
        epi = ((dt + 2.0) / (rb + 2.0)) ** 2 + (l / (rw - 1.0)) ** 2 <= 1.0
        lig = (t > tc) & (t <= -A + 1.0) & (np.abs(l) <= 0.8 * rw)
        aorta = ((t - A - 13.0) ** 2 + (l - 14.0) ** 2) <= 81.0
        ivc = ((t - A - 12.0) / 8.0) ** 2 + ((l + 17.0) / 11.0) ** 2 <= 1.0
        out = [(aorta | ivc, VESSEL), (lig, LIGAMENT), (epi, EPIFAT), (dura, DURA), (canal, CSF), (roots, ROOT)]
        if inside is not None:
            out = [(m & inside, c) for m, c in out]
        return out

    return fn


def background_shape(model: SpineModel):
    zc, yc = model.canal_centreline()
    back, fat = 75.0, 15.0

    def fn(x, y, z):
        d = y - np.interp(z, zc, yc).astype(np.float32)  # posterior distance from the canal centre
        outside = d > back
        sub_fat = (d > back - fat) & ~outside
        muscle = ((d - 33.0) / 22.0) ** 2 + ((np.abs(x) - 22.0) / 17.0) ** 2 <= 1.0
        return [(outside, OUTSIDE), (sub_fat, FAT), (muscle, MUSCLE)]

    return fn
