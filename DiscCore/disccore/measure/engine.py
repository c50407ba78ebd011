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
from ..image import SpatialImage, lps_to_ras
from ..progress import ProgressCallback, report
from .axes import ANTERIOR_LPS, INFERIOR_LPS, Piece, make_frame, make_piece, orient, split_pieces, thinnest_direction
from .canal import canal_section, stenosis_flag
from .disc import measure_heights
from .result import DISC_COLUMNS, MeasuredLine, MeasurementResult, grid_edge_note
from .vertebra import measure_vertebra

DISC_STEP_MM = 0.5


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
            notes.append(f"{self.n_pieces} separate pieces: volume counts all, heights/diameters use the largest "
                         f"({share:.0f} % of the voxels)")
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
        crop = arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        mask = crop == values[0] if len(values) == 1 else np.isin(crop, values)
        n_all = int(mask.sum())
        largest, n_pieces = split_pieces(mask)
        sides = _grid_edge_sides(lo, hi, arr.shape, labels.geometry.direction)
        out[name] = _Structure(name, n_all, n_pieces, make_piece(largest, lo, labels.geometry), sides)
    return out


_SIDES = {(0, 1): "left", (0, -1): "right", (1, 1): "posterior", (1, -1): "anterior", (2, 1): "superior",
          (2, -1): "inferior"}  # (LPS axis, sign) -> patient side


def _grid_edge_sides(lo, hi, shape, direction) -> list[str]:
    """Patient sides on which a bounding box [lo, hi) reaches the outermost slice of a grid of ``shape``."""
    sides = []
    for a in range(3):
        towards = np.asarray(direction)[:, a]  # LPS direction of increasing index a
        k = int(np.argmax(np.abs(towards)))
        sign = 1 if towards[k] > 0 else -1
        if lo[a] == 0:
            sides.append(_SIDES[(k, -sign)])
        if hi[a] == shape[a]:
            sides.append(_SIDES[(k, sign)])
    return sides


def _ras(p) -> tuple:
    return tuple(float(v) for v in lps_to_ras(p))


def measure_segmentation(labels: SpatialImage, label_names: dict[int, str], progress: Optional[ProgressCallback] = None) -> MeasurementResult:
    """Measure every disc level, vertebral body and the canal in a label map.

    ``labels``: integer label map (any grid; LPS physical space). ``label_names``: value -> segment name of
    the anatomy scheme ('L4-L5', 'L4', 'canal'; spellings normalised; None: the scheme's own values). Returns a :class:`MeasurementResult`
    whose lines are in RAS mm. Missing structures give None and a note, never an exception.
    """
    if label_names is None:
        label_names = anatomy.default_label_names()
    geometry = labels.geometry
    geometry.validate()
    arr = _integer_labels(labels)
    result = MeasurementResult(voxel_spacing_mm=tuple(float(s) for s in geometry.spacing))
    report(progress, 0.0, "finding structures")
    found = _collect(arr, labels, label_names, result.warnings)
    vv = geometry.voxel_volume_mm3
    voxel_size = "x".join(f"{s:.2f}" for s in geometry.spacing)
    canal = found.get(anatomy.canal().name)
    canal_piece = canal.piece if canal else None

    disc_list = [s for s in anatomy.discs() if s.name in found]
    vert_list = [s for s in anatomy.vertebrae() if s.name in found]
    if not disc_list and not vert_list:
        result.warnings.append("no disc or vertebral body found in the segmentation")
    total = max(1, len(disc_list) + len(vert_list))
    done = 0

    # vertebral bodies first: their heights feed the disc height index
    vert_height: dict[str, Optional[float]] = {}
    order = [v.name for v in anatomy.vertebrae()]
    for s in vert_list:
        report(progress, done / total, f"measuring {s.name}")
        st = found[s.name]
        i = order.index(s.name)
        above = found.get(order[i - 1]).piece if i > 0 and order[i - 1] in found else None
        below = found.get(order[i + 1]).piece if i + 1 < len(order) and order[i + 1] in found else None
        h, notes = measure_vertebra(st.piece, above, below, canal_piece)
        notes = st.notes() + notes
        vert_height[s.name] = h.mean_mm
        result.vertebrae.append({
            "level": s.name,
            "vertebra_volume_mm3": st.n_voxels * vv,
            "vertebra_height_anterior_mm": h.anterior_mm,
            "vertebra_height_middle_mm": h.middle_mm,
            "vertebra_height_posterior_mm": h.posterior_mm,
            "notes": "; ".join(notes),
        })
        for key in ("anterior", "middle", "posterior"):
            if key in h.lines:
                a, b, v = h.lines[key]
                result.lines.append(MeasuredLine(s.name, f"vertebra_height_{key}_mm", v, _ras(a), _ras(b)))
        done += 1

    for s in disc_list:
        report(progress, done / total, f"measuring {s.name}")
        st = found[s.name]
        piece = st.piece
        notes = st.notes()
        up, low = anatomy.adjacent_vertebrae(s.name)
        if up.name in found and low.name in found:
            axis = orient(found[low.name].piece.centroid_lps - found[up.name].piece.centroid_lps, INFERIOR_LPS)
        else:
            missing = " and ".join(n for n in (up.name, low.name) if n not in found)
            axis = thinnest_direction(piece)
            notes.append(f"no {missing} segmented: axis from the disc's own shape")
        row = {c: None for c in ("disc_height_index", "canal_ap_diameter_mm", "canal_area_mm2", "stenosis")}
        hint = ANTERIOR_LPS
        section = None
        if canal_piece is None:
            notes.append("no canal segmented")
        else:
            section = canal_section(canal_piece, piece.centroid_lps, axis)
            if section is None:
                notes.append("canal not found at this level")
            else:
                hint = -section.posterior
                if section.note:
                    notes.append(section.note)
                row["canal_area_mm2"] = section.area_mm2
                row["canal_ap_diameter_mm"] = section.ap_diameter_mm
                row["stenosis"] = stenosis_flag(section.ap_diameter_mm)
                if section.ap_diameter_mm is not None:
                    result.lines.append(MeasuredLine(s.name, "canal_ap_diameter_mm", section.ap_diameter_mm,
                                                     _ras(section.ap_start_lps), _ras(section.ap_end_lps)))
        frame = make_frame(piece.centroid_lps, axis, hint)
        h = measure_heights(piece, frame, inplane_step=DISC_STEP_MM)
        notes.extend(h.notes)
        hu, hl = vert_height.get(up.name), vert_height.get(low.name)
        if h.mean_mm is not None and hu and hl:
            row["disc_height_index"] = h.mean_mm / (0.5 * (hu + hl))
        row.update({
            "level": s.name,
            "disc_volume_mm3": st.n_voxels * vv,
            "disc_height_mm": h.mean_mm,
            "disc_height_median_mm": h.median_mm,
            "disc_height_anterior_mm": h.anterior_mm,
            "disc_height_middle_mm": h.middle_mm,
            "disc_height_posterior_mm": h.posterior_mm,
            "voxel_size_mm": voxel_size,
            "notes": "; ".join(notes),
        })
        result.discs.append({c: row.get(c) for c in DISC_COLUMNS})
        names = {"mean": "disc_height_mm", "anterior": "disc_height_anterior_mm",
                 "middle": "disc_height_middle_mm", "posterior": "disc_height_posterior_mm"}
        for key, col in names.items():
            if key in h.lines:
                a, b, v = h.lines[key]
                result.lines.append(MeasuredLine(s.name, col, v, _ras(a), _ras(b)))
        done += 1
    report(progress, 1.0, "measurements done")
    return result
