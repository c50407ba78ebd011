"""Measurement rows -> a vtkMRMLTableNode with typed columns, units and descriptions; plot of heights.

Rows are the dicts of :func:`disccore.measure.measure_segmentation` (``result.discs``: one per level,
keys = CSV column names such as ``disc_height_mm``). Known columns get a fixed type, unit and
description; other columns are typed from their values (numbers -> double, else string) and get the
unit their name ends with (``_mm`` -> mm, ``_mm2`` -> mm2, ``_mm3`` -> mm3).
"""

from __future__ import annotations

import csv
import io as _io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import vtk

from disccore.measure.stenosis import CRITERIA, CRITERIA_SEPARATOR, STENOSIS_COLOURS, grading_text
from disccore.outputs import write_text_atomic

from .headless import get_scene


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str  # 'double' | 'string'
    unit: str  # '' when dimensionless
    description: str
    title: str


_KNOWN = {
    "level": ("string", "", "disc level: the vertebra above and the vertebra below", "Level"),
    "disc_volume_mm3": ("double", "mm3", "disc volume: voxels in the disc segment x voxel volume", "Disc volume"),
    "disc_height_mm": (
        "double",
        "mm",
        "disc height along the local spine axis, mean over the central 80 % of the disc footprint",
        "Disc height (mean)",
    ),
    "disc_height_median_mm": (
        "double",
        "mm",
        "disc height along the local spine axis, median over the central 80 % of the footprint",
        "Disc height (median)",
    ),
    "disc_height_anterior_mm": (
        "double",
        "mm",
        "disc height at 10 % of the anteroposterior extent, mid-sagittal plane",
        "Anterior height",
    ),
    "disc_height_middle_mm": (
        "double",
        "mm",
        "disc height at 50 % of the anteroposterior extent, mid-sagittal plane",
        "Middle height",
    ),
    "disc_height_posterior_mm": (
        "double",
        "mm",
        "disc height at 90 % of the anteroposterior extent, mid-sagittal plane",
        "Posterior height",
    ),
    "disc_height_index": (
        "double",
        "",
        "disc height / mean height of the two adjacent vertebral bodies (when both are segmented)",
        "Disc height index",
    ),
    "canal_ap_diameter_mm": (
        "double",
        "mm",
        "spinal canal anteroposterior diameter in the plane through the disc centre, perpendicular to the spine axis",
        "Canal AP diameter",
    ),
    "canal_area_mm2": ("double", "mm2", "spinal canal cross-sectional area in that plane", "Canal area"),
    "stenosis": ("string", "", f"dural sac stenosis grade: {grading_text()}", "Stenosis"),
    "stenosis_criterion": ("string", "", "the stenosis cut-offs this level meets", "Stenosis criterion"),
    "voxel_size_mm": ("string", "mm", "voxel size of the label map measured (i x j x k)", "Voxel size"),
    "notes": ("string", "", "why a value is missing or uncertain", "Notes"),
    "qc": (
        "string",
        "",
        "quality flags of this level and of the case (empty: none): check the segmentation and level name",
        "Quality check",
    ),
    "vertebra_volume_mm3": (
        "double",
        "mm3",
        "vertebral body volume: voxels in the segment x voxel volume",
        "Vertebra volume",
    ),
    "vertebra_height_anterior_mm": (
        "double",
        "mm",
        "vertebral body height at 10 % of its anteroposterior extent",
        "Vertebra anterior height",
    ),
    "vertebra_height_middle_mm": (
        "double",
        "mm",
        "vertebral body height at 50 % of its anteroposterior extent",
        "Vertebra middle height",
    ),
    "vertebra_height_posterior_mm": (
        "double",
        "mm",
        "vertebral body height at 90 % of its anteroposterior extent",
        "Vertebra posterior height",
    ),
}

#: decimals of the numbers in exported CSV files (as disccore.measure writes them)
CSV_DECIMALS = {"disc_height_index": 4}
CSV_DEFAULT_DECIMALS = 3

#: heights drawn in the plot, in order
PLOT_COLUMNS = ("disc_height_anterior_mm", "disc_height_middle_mm", "disc_height_posterior_mm", "disc_height_mm")


def _unit_from_name(name: str) -> str:
    for suffix, unit in (("_mm3", "mm3"), ("_mm2", "mm2"), ("_mm", "mm")):
        if name.endswith(suffix):
            return unit
    return ""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def column_spec(name: str, values: Sequence = ()) -> ColumnSpec:
    """Type, unit and description of a measurement column (known, or inferred from name and values)."""
    if name in _KNOWN:
        kind, unit, description, title = _KNOWN[name]
        return ColumnSpec(name, kind, unit, description, title)
    present = [v for v in values if v is not None]
    kind = "double" if present and all(_is_number(v) for v in present) else "string"
    return ColumnSpec(name, kind, _unit_from_name(name), name.replace("_", " "), name.replace("_", " "))


def format_value(value) -> str:
    """A cell as text: numbers to 4 decimals (no trailing zeros), lists joined, None/NaN empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_number(value):
        if isinstance(value, float) and math.isnan(value):
            return ""
        return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        if all(_is_number(v) for v in value):
            return " x ".join(format_value(float(v)) for v in value)
        return "; ".join(str(v) for v in value)
    return str(value)


def rows_to_table(
    rows: Sequence[dict],
    table_node=None,
    columns: Optional[Sequence[str]] = None,
    name: str = "Disc measurements",
    scene=None,
):
    """Fill a table node (new unless given; its old content is replaced) with measurement rows.

    ``columns``: column order (default: ``disccore.measure.DISC_COLUMNS`` when the rows are disc rows,
    else the keys of the first row). Double columns hold NaN where a value is missing.
    """
    scene = scene or (table_node.GetScene() if table_node is not None else None) or get_scene()
    if table_node is None:
        table_node = scene.AddNewNodeByClass("vtkMRMLTableNode", scene.GenerateUniqueName(name))
    if columns is None:
        columns = _default_columns(rows)
    was_modifying = table_node.StartModify()
    try:
        table_node.RemoveAllColumns()
        table = table_node.GetTable()
        for column in columns:
            values = [row.get(column) for row in rows]
            spec = column_spec(column, values)
            if spec.type == "double":
                array = vtk.vtkDoubleArray()
                for v in values:
                    array.InsertNextValue(float(v) if _is_number(v) else math.nan)
            else:
                array = vtk.vtkStringArray()
                for v in values:
                    array.InsertNextValue(format_value(v))
            array.SetName(column)
            table.AddColumn(array)
            table_node.SetColumnUnitLabel(column, spec.unit)
            table_node.SetColumnDescription(column, spec.description)
            if hasattr(table_node, "SetColumnTitle"):  # Slicer >= 5.4; SetColumnLongName before
                table_node.SetColumnTitle(column, spec.title)
            else:
                table_node.SetColumnLongName(column, spec.title)
        table_node.SetUseColumnTitleAsColumnHeader(True)  # readable titles in the view; the CSV keeps the names
        table_node.SetLocked(True)  # results, not a spreadsheet to edit
        table.Modified()
    finally:
        table_node.EndModify(was_modifying)
    return table_node


def _default_columns(rows: Sequence[dict]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    try:
        from disccore.measure import DISC_COLUMNS, VERTEBRA_COLUMNS
    except ImportError:
        return keys
    if "vertebra_volume_mm3" in keys:  # vertebra rows
        return list(VERTEBRA_COLUMNS) + [k for k in keys if k not in VERTEBRA_COLUMNS]
    if not rows or "disc_height_mm" in keys:  # disc rows: the CSV's column order, extra keys after
        return list(DISC_COLUMNS) + [k for k in keys if k not in DISC_COLUMNS]
    return keys


def _csv_number(value: float, column: str) -> str:
    if math.isnan(value):
        return ""
    return str(round(value, CSV_DECIMALS.get(column, CSV_DEFAULT_DECIMALS)))


def table_rows(table_node) -> tuple[list[str], list[list[str]]]:
    """(column names, rows of cell texts) of a table node; numbers rounded as disccore's CSV files round them."""
    table = table_node.GetTable()
    names = [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())]
    rows = []
    for r in range(table.GetNumberOfRows()):
        row = []
        for c in range(table.GetNumberOfColumns()):
            column = table.GetColumn(c)
            if isinstance(column, vtk.vtkStringArray):
                row.append(column.GetValue(r))
            else:
                row.append(_csv_number(float(column.GetValue(r)), names[c]))
        rows.append(row)
    return names, rows


def write_table_csv(table_node, path, overwrite: bool = False) -> Path:
    """Export a table node as CSV: the same text ``disccore.measure`` writes for the same rows (header of
    column names; numbers to 3 decimals, the height index to 4; atomic, refuses to clobber)."""
    names, rows = table_rows(table_node)
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return write_text_atomic(path, buf.getvalue(), overwrite=overwrite)


def stenosis_cell_colours(table_node) -> dict:
    """{(table row, table column): colour} of the cells that show a stenosis grade: each graded level's stenosis cell
    in its grade's colour, and the canal value whose cut-off fired in that cut-off's grade's colour (as in the PNG
    report). MRML tables hold no cell colours, so DiscMeasure's panel paints these on the table views."""
    table = table_node.GetTable()
    columns = {table.GetColumnName(i): i for i in range(table.GetNumberOfColumns())}
    if "stenosis" not in columns:
        return {}
    colours = {}
    for row in range(table.GetNumberOfRows()):
        grade = table.GetValue(row, columns["stenosis"]).ToString()
        if grade not in STENOSIS_COLOURS:
            continue
        colours[(row, columns["stenosis"])] = STENOSIS_COLOURS[grade]
        met = table.GetValue(row, columns["stenosis_criterion"]).ToString() if "stenosis_criterion" in columns else ""
        for criterion in CRITERIA:
            if criterion.column in columns and criterion.label in met.split(CRITERIA_SEPARATOR):
                colours[(row, columns[criterion.column])] = STENOSIS_COLOURS[criterion.grade]
    return colours


def heights_plot(table_node, chart_node=None, name: str = "Disc heights per level", scene=None):
    """A bar chart of the disc heights per level (anterior, middle, posterior, mean) from a table node.

    Levels are in table order (cranial to caudal); hovering a bar shows its level. Returns the chart node.
    """
    from disccore import anatomy

    scene = scene or table_node.GetScene() or get_scene()
    if chart_node is None:
        chart_node = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", scene.GenerateUniqueName(name))
    chart_node.RemoveAllPlotSeriesNodeIDs()
    table = table_node.GetTable()
    present = [c for c in PLOT_COLUMNS if table.GetColumnByName(c) is not None]
    shades = {
        "disc_height_anterior_mm": (0.35, 0.55, 0.95),
        "disc_height_middle_mm": (0.2, 0.35, 0.8),
        "disc_height_posterior_mm": (0.1, 0.2, 0.55),
        "disc_height_mm": anatomy.by_name("L4-L5").color,
    }
    for column in present:
        series_name = f"{column_spec(column).title}"
        series = None
        for i in range(scene.GetNumberOfNodesByClass("vtkMRMLPlotSeriesNode")):
            candidate = scene.GetNthNodeByClass(i, "vtkMRMLPlotSeriesNode")
            if candidate.GetAttribute("DiscMRML.Chart") == chart_node.GetID() and candidate.GetName() == series_name:
                series = candidate
        if series is None:
            series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", series_name)
            series.SetAttribute("DiscMRML.Chart", chart_node.GetID())
        series.SetAndObserveTableNodeID(table_node.GetID())
        series.SetPlotType(series.PlotTypeBar)
        series.SetYColumnName(column)
        series.SetLabelColumnName("level")
        series.SetColor(*shades[column])
        chart_node.AddAndObservePlotSeriesNodeID(series.GetID())
    chart_node.SetTitle("Disc height per level (cranial to caudal)")
    chart_node.SetXAxisTitle("disc level (table order, cranial to caudal)")
    chart_node.SetYAxisTitle("height (mm)")
    chart_node.SetLegendVisibility(True)
    return chart_node


def show_table_and_plot(table_node=None, chart_node=None) -> bool:
    """Make the table / chart the active ones in the views (the layout itself is the panel's job)."""
    from .headless import application_logic

    logic = application_logic()
    if logic is None:
        return False
    selection = logic.GetSelectionNode()
    if selection is None:
        return False
    if table_node is not None:
        selection.SetActiveTableID(table_node.GetID())
        logic.PropagateTableSelection()
    if chart_node is not None:
        selection.SetActivePlotChartID(chart_node.GetID())
        logic.PropagatePlotChartSelection()
    return True
