"""Sampling the continuous anatomy on a voxel grid: exact labels at voxel centres, and an MR-like image
(thick-slice partial volume, texture, blur, bias field, Rician noise)."""

from __future__ import annotations

import math

import numpy as np

from ..image import Geometry, SpatialImage
from .model import SpineModel
from .tissues import INTENSITIES

_ORIENTATIONS = {
    # columns: directions (LPS) of the i, j, k axes as a scanner writes them
    "sagittal": np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),  # i->P, j->I, k->R
    "coronal": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),  # i->L, j->I, k->P
    "axial": np.eye(3),  # i->L, j->P, k->S
}


def make_grid(spacing, orientation, direction, fov, centre) -> Geometry:
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


def synthesize(model: SpineModel, geom: Geometry, *, seed, contrast, noise, bias_field, supersample, blur_mm):
    """(image, labels) of ``model`` on ``geom``: labels at voxel centres, the image with the partial volume of
    thick slices (``supersample`` sub-slabs), texture, blur, bias field and noise driven by ``seed``."""
    contrast = contrast.upper()
    if contrast not in INTENSITIES:
        raise ValueError(f"contrast must be one of {sorted(INTENSITIES)}, got {contrast!r}")
    labels, pv, amp, thick = _partial_volume(model, geom, contrast, supersample)
    img = _mr_effects(
        pv, amp, geom, np.random.default_rng(seed), thick, noise=noise, bias_field=bias_field, blur_mm=blur_mm
    )
    return SpatialImage(img, geom), SpatialImage(labels.astype(np.uint8), geom)


def _partial_volume(model: SpineModel, geom: Geometry, contrast: str, supersample):
    """(labels at voxel centres, mean intensity, mean texture amplitude, thick axis or None): the thick axis is
    sampled at ``supersample`` sub-slab centres and averaged (partial volume of thick slices)."""
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
    n_sub = nsub if thick is not None else 1
    for q in range(n_sub):
        c = sub(q)
        pv += inten_lut[c]
        amp += tex_lut[c]
    return labels, pv / float(n_sub), amp / float(n_sub), thick


def _mr_effects(pv, amp, geom: Geometry, rng, thick, *, noise, bias_field, blur_mm) -> np.ndarray:
    """Texture, in-plane blur, a smooth multiplicative bias field and Rician noise (in that order, one ``rng``)."""
    from scipy import ndimage

    sp = geom.spacing
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
        P = (
            c[0] * u
            + c[1] * v
            + c[2] * w
            + c[3] * u * u
            + c[4] * v * v
            + c[5] * w * w
            + c[6] * u * v
            + c[7] * u * w
            + c[8] * v * w
        )
        P = P / (np.abs(P).max() + 1e-6)
        img *= np.clip(1.0 + bias_field * P, 0.05, None)
    if noise and noise > 0:
        n1 = rng.standard_normal(geom.size, dtype=np.float32)
        n2 = rng.standard_normal(geom.size, dtype=np.float32)
        img = np.sqrt((img + noise * n1) ** 2 + (noise * n2) ** 2)
    return np.maximum(img, 0).astype(np.float32)
