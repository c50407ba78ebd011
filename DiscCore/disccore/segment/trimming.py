"""Each named body and disc cut to the voxels the network is sure of and to the sagittal slices where it belongs.

The network's arg-max outline runs a little wide, most at the lateral ends (see :mod:`.postprocessing` for the
model's thresholds).
"""

from __future__ import annotations

import numpy as np

from .masks import TOUCHING, bounding_box, in_slices, sections

MIN_TRIMMED_SHARE = 0.5  # a body or disc the network is rarely that sure of (unfamiliar contrast) keeps its argmax mask


def body_outline(mask: np.ndarray, p_body: np.ndarray, probability: float, section_share: float,
                 axis: int) -> np.ndarray:
    """The body's sure voxels (``p_body`` >= ``probability``) in the sagittal slices (along array ``axis``) where its
    section is at least ``section_share`` of its widest."""
    body = trimmed(mask, p_body, probability)
    section = sections(body, axis)
    return in_slices(body, section >= section_share * section.max(), axis)


def trimmed(mask: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    """The structure's voxels with probability ``p`` >= threshold (largest piece), or the whole mask when that keeps
    less than MIN_TRIMMED_SHARE of it."""
    from scipy import ndimage

    box = bounding_box(np.argwhere(mask))
    lab, n = ndimage.label(mask[box] & (p[box] >= threshold), structure=TOUCHING)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())[1:]
    if sizes.max() < MIN_TRIMMED_SHARE * mask.sum():
        return mask
    out = np.zeros(mask.shape, bool)
    out[box] = lab == int(np.argmax(sizes)) + 1
    return out


def within_its_vertebrae(disc: np.ndarray, name: str, vertebra_sections: dict, axis: int,
                         share: float) -> np.ndarray:
    """The disc in the sagittal slices (along array ``axis``) where each of its named vertebrae has a section (voxels
    per slice, in ``vertebra_sections``) at least ``share`` of its widest; a vertebra not named (S1, or one beyond the
    field of view) sets no limit. The whole disc if that would leave nothing."""
    keep = np.ones(disc.shape[axis], bool)
    for vertebra in name.split("-"):
        section = vertebra_sections.get(vertebra)
        if section is not None and section.any():
            keep &= section >= share * section.max()
    within = in_slices(disc, keep, axis)
    return within if within.any() else disc
