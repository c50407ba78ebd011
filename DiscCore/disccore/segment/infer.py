"""Run a loaded network over a volume: canonical slices -> model spacing -> logits -> back to the input grid."""

from __future__ import annotations

import numpy as np

from ..image import SpatialImage
from ..progress import report
from .canonical import reorientation_for
from .context import context_slices
from .preprocess import inplane_size, normalise_intensity, resize_slices

PAD_MULTIPLE = 16  # the U-Net halves the size four times


def predict_probabilities(net, image: SpatialImage, target_spacing, context_offsets_mm=(0.0,), device="cpu", batch_size=8,
                          progress=None) -> np.ndarray:
    """Class probabilities (C, i, j, k) on exactly the input grid (float32).

    Each slice goes in with its neighbours at ``context_offsets_mm`` as channels (see :mod:`.context`).
    """
    import torch
    import torch.nn.functional as F

    reo = reorientation_for(image.geometry.direction)
    canon = normalise_intensity(reo.to_canonical(image.array))
    spacing = reo.spacing(image.geometry.spacing)
    n_slices, h, w = canon.shape
    size = inplane_size((h, w), spacing[1:], target_spacing)
    ph = (-size[0]) % PAD_MULTIPLE
    pw = (-size[1]) % PAD_MULTIPLE
    probs = None
    with torch.inference_mode():
        for start in range(0, n_slices, batch_size):
            centers = range(start, min(start + batch_size, n_slices))
            x = torch.from_numpy(context_slices(canon, centers, context_offsets_mm, float(spacing[0]))).to(device)
            x = resize_slices(x, size, "bilinear")
            x = F.pad(x, (0, pw, 0, ph))
            logits = net(x)[:, :, : size[0], : size[1]]
            p = torch.softmax(logits.float(), dim=1)
            p = resize_slices(p, (h, w), "bilinear").cpu().numpy()
            if probs is None:
                probs = np.empty((p.shape[1], n_slices, h, w), np.float32)
            probs[:, start : start + len(p)] = p.transpose(1, 0, 2, 3)
            report(progress, min(1.0, (start + len(p)) / n_slices), f"segmenting slice {start + len(p)}/{n_slices}")
    return np.ascontiguousarray(reo.from_canonical(probs, leading=1))
