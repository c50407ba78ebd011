"""Each named body and disc cut to the voxels the network is sure of and to the sagittal slices where it belongs.

The network's arg-max outline runs a little wide, most at the lateral ends (see :mod:`.postprocessing` for the
model's thresholds). Structures are :class:`.masks.Piece` s: a box of the volume and the mask within it.
"""

from __future__ import annotations

import numpy as np

from .masks import Piece
from .morphology import label

MIN_TRIMMED_SHARE = 0.5  # a body or disc the network is rarely that sure of (unfamiliar contrast) keeps its argmax mask


def body_outline(body: Piece, p_body: np.ndarray, probability: float, section_share: float, axis: int) -> Piece:
    """The body's sure voxels (``p_body`` >= ``probability``) in the sagittal slices (along array ``axis``) where its
    section is at least ``section_share`` of its widest."""
    body = trimmed(body, p_body, probability)
    section = body.sections(axis, p_body.shape[axis])
    return body.in_slices(section >= section_share * section.max(), axis)


def trimmed(piece: Piece, p: np.ndarray, threshold: float) -> Piece:
    """The structure's voxels with probability ``p`` >= threshold (largest piece), or the whole structure when that
    keeps less than MIN_TRIMMED_SHARE of it."""
    tight = piece.tight()
    lab, n = label(tight.mask & (p[tight.box] >= threshold))
    if n == 0:
        return piece
    sizes = np.bincount(lab.ravel())[1:]
    if sizes.max() < MIN_TRIMMED_SHARE * tight.voxels:
        return piece
    return Piece(tight.box, lab == int(np.argmax(sizes)) + 1)


def within_its_vertebrae(disc: Piece, name: str, vertebra_sections: dict, axis: int, share: float) -> Piece:
    """The disc in the sagittal slices (along array ``axis``) where each of its named vertebrae has a section (voxels
    per slice of the volume, in ``vertebra_sections``) at least ``share`` of its widest; a vertebra not named (S1, or
    one beyond the field of view) sets no limit. The whole disc if that would leave nothing."""
    keep = np.ones(disc.box[axis].stop, bool)  # the slices up to the disc's last one
    for vertebra in name.split("-"):
        section = vertebra_sections.get(vertebra)
        if section is not None and section.any():
            keep &= (section >= share * section.max())[: len(keep)]
    within = disc.in_slices(keep, axis)
    return within if within.mask.any() else disc
