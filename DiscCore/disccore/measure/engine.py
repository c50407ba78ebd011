"""``measure_segmentation``: label map -> disc, vertebral-body and canal measurements (physical space).

Inputs are a label map on any voxel grid (oblique, anisotropic, LPS or RAS ordered) and the names of
its values. Positions are LPS mm internally; the lines in the result are RAS mm.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import ndimage

from .. import anatomy
from ..errors import ImageContentError, LabelError
from ..image import SpatialImage, grid_edge_sides, lps_to_ras
from ..progress import ProgressCallback, report
from .axes import Piece, local_axis, make_frame, make_piece, split_pieces
from .canal import CanalSection, anterior_hint, canal_section
from .constants import DISC_STEP_MM
from .disc import Heights, measure_heights
from .qc import geometric_checks
from .result import DISC_COLUMNS, MeasuredLine, MeasurementResult, grid_edge_note
from .stenosis import grade_stenosis
from .vertebra import measure_vertebra

#: measured lines of a disc: key in Heights.lines -> result column
DISC_LINES = {
    "mean": "disc_height_mm",
    "anterior": "disc_height_anterior_mm",
    "middle": "disc_height_middle_mm",
    "posterior": "disc_height_posterior_mm",
}
VERTEBRA_LINES = {k: f"vertebra_height_{k}_mm" for k in ("anterior", "middle", "posterior")}


class _Structure:
    """All voxels of one named structure: volume over every piece, geometry from the largest."""

    def __init__(self, name: str, n_voxels: int, n_pieces: int, piece: Piece, grid_edge_sides: list[str]):
        self.name = name
        self.n_voxels = n_voxels
        self.n_pieces = n_pieces
        self.piece = piece
        self.grid_edge_sides = grid_edge_sides

    def notes(self) -> list[str]:
        """What the reader of its row should know about the structure itself."""
        notes = []
        if self.grid_edge_sides:  # e.g. a disc half outside the field of view: its size would look plausible but small
            notes.append(grid_edge_note(self.grid_edge_sides))
        if self.n_pieces > 1:
            share = 100.0 * self.piece.n_voxels / self.n_voxels
            notes.append(
                f"{self.n_pieces} separate pieces: volume counts all, heights/diameters use the largest "
                f"({share:.0f} % of the voxels)"
            )
        return notes


def _integer_labels(labels: SpatialImage) -> np.ndarray:
    arr = np.asarray(labels.array)
    if arr.ndim != 3:
        raise ImageContentError(f"the segmentation is {arr.ndim}D; a 3D label map is needed")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.bool_):
            arr = arr.astype(np.uint8)
        else:
            rounded = np.rint(arr)
            if not np.allclose(arr, rounded):
                raise LabelError("the segmentation holds non-integer values; a label map is needed")
            arr = rounded.astype(np.int64)
    if arr.size and arr.min() < 0:
        arr = np.where(arr < 0, 0, arr)
    return arr


def _collect(arr: np.ndarray, labels: SpatialImage, label_names: dict, warnings: list) -> dict[str, _Structure]:
    """Named structures present in ``arr`` (scheme name -> _Structure)."""
    values_by_name: dict[str, list[int]] = {}
    for value, name in label_names.items():
        if int(value) <= 0:  # background
            continue
        try:
            s = anatomy.by_name(str(name))
        except LabelError:
            warnings.append(f"segment '{name}' (value {value}) is not a structure this tool measures; ignored")
            continue
        values_by_name.setdefault(s.name, []).append(int(value))
    slices = ndimage.find_objects(arr)
    present = {i + 1 for i, sl in enumerate(slices) if sl is not None}
    named = {int(v) for v in label_names}
    unnamed = sorted(present - named)
    if unnamed:
        shown = ", ".join(str(v) for v in unnamed[:10]) + (" ..." if len(unnamed) > 10 else "")
        warnings.append(f"label values without a name were ignored: {shown}")
    out = {}
    for name, values in values_by_name.items():
        boxes = [slices[v - 1] for v in values if v - 1 < len(slices) and slices[v - 1] is not None]
        if not boxes:
            continue
        lo = [min(b[d].start for b in boxes) for d in range(3)]
        hi = [max(b[d].stop for b in boxes) for d in range(3)]
        crop = arr[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        mask = crop == values[0] if len(values) == 1 else np.isin(crop, values)
        n_all = int(mask.sum())
        largest, n_pieces = split_pieces(mask)
        sides = grid_edge_sides(lo, hi, arr.shape, labels.geometry.direction)
        out[name] = _Structure(name, n_all, n_pieces, make_piece(largest, lo, labels.geometry), sides)
    return out


def _ras(p) -> tuple:
    return tuple(float(v) for v in lps_to_ras(p))


def measure_segmentation(
    labels: SpatialImage, label_names: dict[int, str], progress: Optional[ProgressCallback] = None
) -> MeasurementResult:
    """Measure every disc level, vertebral body and the canal in a label map.

    ``labels``: integer label map (any grid; LPS physical space). ``label_names``: value -> segment name of
    the anatomy scheme ('L4-L5', 'L4', 'canal'; spellings normalised; None: the scheme's own values). Returns a
    :class:`MeasurementResult` whose lines are in RAS mm. Missing structures give None and a note, never an
    exception.
    """
    if label_names is None:
        label_names = anatomy.default_label_names()
    labels.geometry.validate()
    arr = _integer_labels(labels)
    result = MeasurementResult(voxel_spacing_mm=tuple(float(s) for s in labels.geometry.spacing))
    report(progress, 0.0, "finding structures")
    found = _collect(arr, labels, label_names, result.warnings)
    vert_list = [s.name for s in anatomy.vertebrae() if s.name in found]
    disc_list = [s.name for s in anatomy.discs() if s.name in found]
    if not disc_list and not vert_list:
        result.warnings.append("no disc or vertebral body found in the segmentation")
    canal = found.get(anatomy.canal().name)
    canal_piece = canal.piece if canal else None
    total = max(1, len(disc_list) + len(vert_list))
    # vertebral bodies first: their heights feed the disc height index
    vert_height: dict[str, Optional[float]] = {}
    for done, name in enumerate(vert_list):
        report(progress, done / total, f"measuring {name}")
        vert_height[name] = _measure_vertebra(name, found, canal_piece, labels.geometry.voxel_volume_mm3, result)
    for done, name in enumerate(disc_list, start=len(vert_list)):
        report(progress, done / total, f"measuring {name}")
        _measure_disc(name, found, canal_piece, vert_height, labels.geometry, result)
    result.add_flags(*geometric_checks(result))
    report(progress, 1.0, "measurements done")
    return result


def _measure_vertebra(
    name: str, found: dict, canal: Optional[Piece], voxel_volume: float, result: MeasurementResult
) -> Optional[float]:
    """Append the vertebral body's row and lines to ``result``; return its mean height (for the disc index)."""
    st = found[name]
    order = [v.name for v in anatomy.vertebrae()]
    i = order.index(name)
    above = found[order[i - 1]].piece if i > 0 and order[i - 1] in found else None
    below = found[order[i + 1]].piece if i + 1 < len(order) and order[i + 1] in found else None
    h, notes = measure_vertebra(st.piece, above, below, canal)
    result.vertebrae.append(
        {
            "level": name,
            "vertebra_volume_mm3": st.n_voxels * voxel_volume,
            "vertebra_height_anterior_mm": h.anterior_mm,
            "vertebra_height_middle_mm": h.middle_mm,
            "vertebra_height_posterior_mm": h.posterior_mm,
            "notes": "; ".join(st.notes() + notes),
        }
    )
    result.lines.extend(_lines(name, h, VERTEBRA_LINES))
    return h.mean_mm


def _measure_disc(
    name: str, found: dict, canal: Optional[Piece], vert_height: dict, geometry, result: MeasurementResult
) -> None:
    """Append the disc level's row (heights, index, canal and stenosis) and its lines to ``result``."""
    st = found[name]
    notes = st.notes()
    up, low = anatomy.adjacent_vertebrae(name)
    axis = _disc_axis(st.piece, found, up.name, low.name, notes)
    section = _canal_at(canal, st.piece.centroid_lps, axis, notes)
    h = measure_heights(
        st.piece, make_frame(st.piece.centroid_lps, axis, anterior_hint(section)), inplane_step=DISC_STEP_MM
    )
    notes.extend(h.notes)
    hu, hl = vert_height.get(up.name), vert_height.get(low.name)
    row = {
        "level": name,
        "disc_volume_mm3": st.n_voxels * geometry.voxel_volume_mm3,
        "disc_height_mm": h.mean_mm,
        "disc_height_median_mm": h.median_mm,
        "disc_height_anterior_mm": h.anterior_mm,
        "disc_height_middle_mm": h.middle_mm,
        "disc_height_posterior_mm": h.posterior_mm,
        "disc_height_index": h.mean_mm / (0.5 * (hu + hl)) if h.mean_mm is not None and hu and hl else None,
        "voxel_size_mm": "x".join(f"{s:.2f}" for s in geometry.spacing),
        "notes": "; ".join(notes),
    }
    row.update(_canal_columns(section))
    result.discs.append({c: row.get(c) for c in DISC_COLUMNS})
    if section is not None and section.ap_diameter_mm is not None:
        result.lines.append(
            MeasuredLine(
                name,
                "canal_ap_diameter_mm",
                section.ap_diameter_mm,
                _ras(section.ap_start_lps),
                _ras(section.ap_end_lps),
            )
        )
    result.lines.extend(_lines(name, h, DISC_LINES))


def _disc_axis(piece: Piece, found: dict, up_name: str, low_name: str, notes: list) -> np.ndarray:
    """The disc's local spine axis (unit LPS, caudal); a note when its two vertebral bodies do not give it."""
    up, low = found.get(up_name), found.get(low_name)
    axis, source = local_axis(piece, up.piece if up else None, low.piece if low else None, from_one_neighbour=False)
    if source != "neighbours":
        missing = " and ".join(n for n in (up_name, low_name) if n not in found)
        notes.append(f"no {missing} segmented: axis from the disc's own shape")
    return axis


def _canal_at(canal: Optional[Piece], centre, axis, notes: list) -> Optional[CanalSection]:
    """The canal's section at a disc (None, with a note, when there is none)."""
    if canal is None:
        notes.append("no canal segmented")
        return None
    section = canal_section(canal, centre, axis)
    if section is None:
        notes.append("canal not found at this level")
    elif section.note:
        notes.append(section.note)
    return section


def _canal_columns(section: Optional[CanalSection]) -> dict:
    """The disc row's canal columns: AP diameter, area, stenosis grade and the criterion that fired."""
    ap = None if section is None else section.ap_diameter_mm
    area = None if section is None else section.area_mm2
    grade, criterion = grade_stenosis(ap, area) if section is not None else (None, None)
    return {"canal_ap_diameter_mm": ap, "canal_area_mm2": area, "stenosis": grade, "stenosis_criterion": criterion}


def _lines(level: str, h: Heights, columns: dict) -> list[MeasuredLine]:
    """The measured height lines of one structure (RAS), named by their result column."""
    out = []
    for key, col in columns.items():
        if key in h.lines:
            a, b, v = h.lines[key]
            out.append(MeasuredLine(level, col, v, _ras(a), _ras(b)))
    return out
