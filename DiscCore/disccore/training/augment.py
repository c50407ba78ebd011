"""Sampling and augmentation of training slices (torch, CPU).

Aims at robustness rather than the last point of Dice: other scanners and contrasts (random non-monotonic
intensity curves, inversion, gamma), bias fields, noise, blur, thick slices (neighbouring slices averaged),
tilt and scale, and fields of view that start or end mid-spine.
"""

from __future__ import annotations

import math

import numpy as np

from .data import UNKNOWN


def sample_slice(rng, case, crop: int, augment: bool, offsets_mm=(0.0,)):
    """(image (C, crop, crop) float32, target (crop, crop) int64): one slice of ``case`` with its neighbours
    at ``offsets_mm`` as channels.

    Mostly slices and places with annotation; a fifth of the time any slice and any place, so that the
    network also sees what lies far from the spine (lateral slices, pelvis, abdomen) and calls it background.
    """
    import torch
    import torch.nn.functional as F

    from ..segment.context import context_slices, thick_context

    if case.annotated_slices is None:
        case.annotated_slices = np.nonzero((case.target > 0).any(axis=(1, 2)))[0]
    anywhere = augment and rng.random() < 0.2
    s = int(rng.integers(case.image.shape[0])) if anywhere else int(rng.choice(case.annotated_slices))
    spacing = float(case.spacing[0])
    if augment and spacing < 2.0 and rng.random() < 0.3:  # thick slices: partial volume, coarse context
        img = thick_context(case.image, s, offsets_mm, spacing, float(rng.uniform(2.0, 5.0)))
    else:
        img = context_slices(case.image, [s], offsets_mm, spacing)[0]
    if augment and rng.random() < 0.5:  # left/right is not known in every file
        img = img[::-1]
    tgt = case.target[s]
    c, h, w = img.shape
    ys, xs = np.nonzero(tgt > 0)
    if anywhere or len(ys) == 0:
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    else:
        i = int(rng.integers(len(ys)))
        cy, cx = ys[i] + rng.normal(0, 25), xs[i] + rng.normal(0, 25)
    angle = math.radians(rng.uniform(-15, 15)) if augment else 0.0
    scale = rng.uniform(0.85, 1.15) if augment else 1.0
    # output pixel (u, v) in [-1, 1] -> source normalised coordinates (align_corners=False convention)
    half = crop / 2.0 * scale
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor(
        [
            [cos * half / (w / 2), -sin * half / (w / 2), (cx + 0.5) / (w / 2) - 1],
            [sin * half / (h / 2), cos * half / (h / 2), (cy + 0.5) / (h / 2) - 1],
        ],
        dtype=torch.float32,
    )[None]
    grid = F.affine_grid(theta, (1, c, crop, crop), align_corners=False)
    x = F.grid_sample(
        torch.from_numpy(np.ascontiguousarray(img))[None],
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )[0]
    t = F.grid_sample(
        torch.from_numpy(tgt.astype(np.float32))[None, None],
        grid,
        mode="nearest",
        padding_mode="border",
        align_corners=False,
    )[0, 0]
    # outside the image: nothing is visible there, but keep it "unknown" to stay honest about borders
    inside = (
        F.grid_sample(torch.ones(1, 1, h, w), grid, mode="nearest", padding_mode="zeros", align_corners=False)[0, 0] > 0
    )
    t = torch.where(inside, t, torch.full_like(t, UNKNOWN)).long()
    if augment:
        x = augment_intensity(rng, x)
        if rng.random() < 0.15:  # field of view starting or ending mid-spine
            row = int(rng.integers(crop // 5, 4 * crop // 5))
            if rng.random() < 0.5:
                x[:, :row], t[:row] = 0.0, 0
            else:
                x[:, row:], t[row:] = 0.0, 0
    return x, t


def augment_intensity(rng, x):
    """Random contrast of a (C, H, W) stack, the same for every channel: gamma, inversion, non-monotonic
    curves, bias field, blur, noise."""
    import torch
    import torch.nn.functional as F

    lo, hi = float(x.min()), float(x.max())
    y = (x - lo) / max(hi - lo, 1e-6)
    if rng.random() < 0.5:
        y = y ** float(np.exp(rng.normal(0, 0.35)))
    r = rng.random()
    if r < 0.2:
        y = 1.0 - y
    elif r < 0.5:  # a random smooth intensity curve: tissue contrasts reorder as between T1, T2, TIRM...
        knots = np.sort(rng.uniform(0, 1, 5))
        values = rng.uniform(0, 1, 7)
        xs = torch.tensor(np.r_[0.0, knots, 1.0], dtype=torch.float32)
        vs = torch.tensor(values, dtype=torch.float32)
        idx = torch.clamp(torch.searchsorted(xs, y.contiguous()) - 1, 0, len(xs) - 2)
        frac = (y - xs[idx]) / (xs[idx + 1] - xs[idx]).clamp_min(1e-6)
        y = vs[idx] + frac * (vs[idx + 1] - vs[idx])
    if rng.random() < 0.5:
        n = y.shape[-1]
        g = torch.linspace(-1, 1, n)
        c = torch.tensor(rng.normal(0, 0.3, 6), dtype=torch.float32)
        field = (
            c[0] * g[:, None]
            + c[1] * g[None, :]
            + c[2] * g[:, None] ** 2
            + c[3] * g[None, :] ** 2
            + c[4] * g[:, None] * g[None, :]
        )
        y = y * torch.exp(field)
    if rng.random() < 0.2:
        sigma = rng.uniform(0.5, 1.2)
        k = torch.exp(-(torch.arange(-3, 4, dtype=torch.float32) ** 2) / (2 * sigma**2))
        k = k / k.sum()
        y = F.conv2d(y[:, None], k.view(1, 1, 1, 7), padding=(0, 3))
        y = F.conv2d(y, k.view(1, 1, 7, 1), padding=(3, 0))[:, 0]
    if rng.random() < 0.5:
        y = y + torch.randn_like(y) * float(rng.uniform(0, 0.08))
    # back to the normalised range the network sees at inference (2.5..97.5 percentiles -> 0..1)
    q = torch.quantile(y.reshape(-1)[:: max(1, y.numel() // 20000)], torch.tensor([0.025, 0.975]))
    return ((y - q[0]) / (q[1] - q[0]).clamp_min(1e-6)).clamp(-0.5, 1.5)
