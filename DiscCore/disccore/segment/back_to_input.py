"""The final label map from the model's grid to the input's, structure by structure.

Each structure is where a few constraints are all positive, each crossing zero where it draws the boundary: the
margin by which its class beats the others (arg-max outlines), by which its probability passes the value it was
trimmed at (trimmed outlines), and, where a rule other than the probabilities drew the line (components, level
cuts), one that changes sign halfway between the voxels kept and left out. Interpolating each constraint is
interpolating the probabilities before deciding, as the whole-volume resampling did, but only inside the
structure's bounding box; where structures meet, the larger minimum wins. Only the slice plane is resampled: the
model's grid keeps the input's slices.
"""

from __future__ import annotations

import numpy as np

from .. import anatomy
from .classes import BODY, CANAL, DISC, L5_BODY
from .morphology import dilate_in_plane
from .resample import interpolate_axis, source_positions

MIN_TRIMMED_RIM_SHARE = 0.05  # of the voxels beside a structure, to take it as trimmed to a probability
FORCED_MARGIN = 0.01  # a constraint's value inside a structure where the probabilities alone would leave it out
RULE_MARGIN = 1.0  # the size of the constraint that stands for the other rules (on the probabilities' scale)
BOX_MARGIN = 2  # model voxels around a structure inside which its field is interpolated
FIELD_DTYPE = np.float16  # the winning field per input voxel (ties only matter near zero, where float16 is fine)


def class_group(label: int) -> tuple:
    """The network classes that make up a structure of this label value."""
    if label == anatomy.canal().label:
        return (CANAL,)
    if any(s.label == label for s in anatomy.discs()):
        return (DISC,)
    return (BODY, L5_BODY)


def structure_fields(mask: np.ndarray, probs: np.ndarray, group: tuple, labelled: np.ndarray) -> list:
    """The constraints (slices, rows, columns) float32 a structure's voxels meet on (a box of) the model grid: the
    structure is where all are > 0. Each is interpolated alone (the minimum of interpolations is not the
    interpolation of the minimum where the binding constraint changes between neighbours).

    ``labelled``: voxels of any structure (a neighbour of the same class is not a trimmed-off rim)."""
    others = [c for c in range(probs.shape[0]) if c not in group]
    own = probs[list(group)]
    fields = [own.max(axis=0) - probs[others].max(axis=0)]  # > 0 where the structure's class wins the arg-max
    p = own.sum(axis=0)
    threshold = trim_threshold(mask, fields[0] > 0, p, labelled)
    if threshold is not None:
        fields.append(p - threshold)
    fields = [np.where(mask & (f <= 0), FORCED_MARGIN, f).astype(np.float32) for f in fields]
    # where another rule drew the line (components, level cuts): a constraint that changes sign halfway
    left_out = ~mask & np.all([f > 0 for f in fields], axis=0)
    if left_out.any():
        fields.append(np.where(left_out, -RULE_MARGIN, RULE_MARGIN).astype(np.float32))
    return fields


def trim_threshold(mask: np.ndarray, wins: np.ndarray, p: np.ndarray, labelled: np.ndarray):
    """The probability a structure was trimmed at, or None where its arg-max outline was kept.

    A trimmed structure has a rim beside it in the slice plane where its class still wins the arg-max but no one
    kept the voxels; its threshold lies between the least sure voxel kept and the surest one trimmed off."""
    beside = dilate_in_plane(mask) & ~mask
    kept_min = float(p[mask].min())
    rim = beside & wins & ~labelled & (p < kept_min)
    if rim.sum() < MIN_TRIMMED_RIM_SHARE * beside.sum():
        return None
    return 0.5 * (kept_min + float(p[rim].max()))


def _box(mask: np.ndarray) -> tuple:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - [0, BOX_MARGIN, BOX_MARGIN], 0)
    hi = np.minimum(idx.max(axis=0) + [1, BOX_MARGIN + 1, BOX_MARGIN + 1], mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def _rows_inside(positions: np.ndarray, box: slice, n_model: int) -> slice:
    """The input rows (a slice) whose source positions (clamped to the model grid) lie within the rows of ``box``."""
    p = np.clip(positions, 0, n_model - 1)
    inside = np.flatnonzero((p >= box.start) & (p <= box.stop - 1))
    return slice(int(inside[0]), int(inside[-1]) + 1) if inside.size else slice(0, 0)


def labels_to_input_grid(labels: np.ndarray, probs: np.ndarray, size_2d) -> np.ndarray:
    """Canonical (slices, H, W) uint8 labels from ``labels`` (slices, h, w) on the model grid and its class
    probabilities (C, slices, h, w)."""
    n_slices, h, w = labels.shape
    if (h, w) == tuple(size_2d):
        return labels.astype(np.uint8, copy=True)
    positions = (source_positions(h, size_2d[0]), source_positions(w, size_2d[1]))
    out = np.zeros((n_slices, *size_2d), np.uint8)
    best = np.zeros(out.shape, FIELD_DTYPE)  # background wins wherever no field is positive
    for value in (int(v) for v in np.unique(labels) if v != 0):
        box = _box(labels == value)
        fields = structure_fields(labels[box] == value, probs[(slice(None), *box)], class_group(value), labels[box] > 0)
        rows, cols = _rows_inside(positions[0], box[1], h), _rows_inside(positions[1], box[2], w)
        field = None
        for f in fields:
            f = interpolate_axis(f, 1, positions[0][rows] - box[1].start)
            f = interpolate_axis(f, 2, positions[1][cols] - box[2].start)
            field = f if field is None else np.minimum(field, f)
        target = (box[0], rows, cols)
        wins = field > best[target]
        best[target] = np.where(wins, field, best[target])
        out[target] = np.where(wins, value, out[target])
    return out
