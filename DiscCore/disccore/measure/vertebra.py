"""Vertebral bodies: volume and anterior / middle / posterior heights along their own local axis (LPS mm)."""

from __future__ import annotations

from typing import Optional

from .axes import Piece, local_axis, make_frame
from .canal import anterior_hint, canal_section
from .constants import VERTEBRA_STEP_MM
from .disc import Heights, measure_heights

_AXIS_NOTES = {
    "one neighbour": "axis from one neighbouring vertebral body",
    "own shape": "no neighbouring vertebral bodies: axis from the body's own shape",
}


def measure_vertebra(
    piece: Piece, above: Optional[Piece], below: Optional[Piece], canal: Optional[Piece]
) -> tuple[Heights, list]:
    """Heights of one vertebral body and its notes."""
    axis, source = local_axis(piece, above, below, from_one_neighbour=True)
    notes = [_AXIS_NOTES[source]] if source in _AXIS_NOTES else []
    section = None if canal is None else canal_section(canal, piece.centroid_lps, axis, step=0.5, area=False)
    frame = make_frame(piece.centroid_lps, axis, anterior_hint(section))
    h = measure_heights(piece, frame, inplane_step=VERTEBRA_STEP_MM)
    return h, notes + h.notes
