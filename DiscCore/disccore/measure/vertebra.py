"""Vertebral bodies: volume and anterior / middle / posterior heights along their own local axis (LPS mm)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .axes import ANTERIOR_LPS, INFERIOR_LPS, Piece, make_frame, orient, thinnest_direction
from .canal import canal_section
from .disc import Heights, measure_heights

#: in-plane sampling step (mm) for vertebral-body footprints (bodies are large; heights vary slowly)
VERTEBRA_STEP_MM = 1.0


def vertebra_axis(piece: Piece, above: Optional[Piece], below: Optional[Piece]) -> tuple[np.ndarray, Optional[str]]:
    """(unit LPS axis pointing caudally, note or None) for a vertebral body."""
    if above is not None and below is not None:
        return orient(below.centroid_lps - above.centroid_lps, INFERIOR_LPS), None
    other = above if above is not None else below
    if other is not None:
        return orient(piece.centroid_lps - other.centroid_lps, INFERIOR_LPS), "axis from one neighbouring vertebral body"
    return thinnest_direction(piece), "no neighbouring vertebral bodies: axis from the body's own shape"


def measure_vertebra(piece: Piece, above: Optional[Piece], below: Optional[Piece], canal: Optional[Piece]) -> tuple[Heights, list]:
    """Heights of one vertebral body and its notes."""
    notes = []
    axis, note = vertebra_axis(piece, above, below)
    if note:
        notes.append(note)
    hint = ANTERIOR_LPS
    if canal is not None:
        sec = canal_section(canal, piece.centroid_lps, axis, step=0.5, area=False)
        if sec is not None:
            hint = -sec.posterior
    frame = make_frame(piece.centroid_lps, axis, hint)
    h = measure_heights(piece, frame, inplane_step=VERTEBRA_STEP_MM)
    return h, notes + h.notes
