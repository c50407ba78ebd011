"""Measurement rows -> table node (schema, units), plot; measured lines -> markups (RAS endpoints)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest_mrml import *  # noqa: F401,F403

pytestmark = pytest.mark.mrml

DISC_COLUMNS = [
    "level",
    "disc_volume_mm3",
    "disc_height_mm",
    "disc_height_median_mm",
    "disc_height_anterior_mm",
    "disc_height_middle_mm",
    "disc_height_posterior_mm",
    "disc_height_index",
    "canal_ap_diameter_mm",
    "canal_area_mm2",
    "stenosis",
    "voxel_size_mm",
    "notes",
]


def _rows():
    base = dict(
        disc_volume_mm3=15234.5,
        disc_height_mm=10.25,
        disc_height_median_mm=10.3,
        disc_height_anterior_mm=12.0,
        disc_height_middle_mm=10.5,
        disc_height_posterior_mm=7.75,
        disc_height_index=0.41,
        canal_ap_diameter_mm=14.2,
        canal_area_mm2=210.0,
        stenosis="none",
        voxel_size_mm=(0.43, 0.43, 4.4),
        notes=[],
    )
    r1 = dict(base, level="L4-L5")
    r2 = dict(
        base,
        level="L5-S1",
        disc_height_index=None,
        canal_ap_diameter_mm=9.1,
        stenosis="absolute",
        notes=["S1 not segmented: no height index"],
    )
    return [r1, r2]


def test_table_schema_types_units_descriptions(scene):
    import vtk

    from discmrml.tables import rows_to_table

    table_node = rows_to_table(_rows(), columns=DISC_COLUMNS, scene=scene)
    table = table_node.GetTable()
    assert [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())] == DISC_COLUMNS
    assert table.GetNumberOfRows() == 2
    for name in DISC_COLUMNS:
        column = table.GetColumnByName(name)
        if name in ("level", "stenosis", "voxel_size_mm", "notes"):
            assert isinstance(column, vtk.vtkStringArray), name
            assert table_node.GetColumnType(name) == vtk.VTK_STRING
        else:
            assert isinstance(column, vtk.vtkDoubleArray), name
            assert table_node.GetColumnType(name) == vtk.VTK_DOUBLE
        assert table_node.GetColumnDescription(name), name
    units = {n: table_node.GetColumnUnitLabel(n) for n in DISC_COLUMNS}
    assert units["disc_volume_mm3"] == "mm3"
    assert units["canal_area_mm2"] == "mm2"
    assert units["disc_height_mm"] == units["canal_ap_diameter_mm"] == units["disc_height_posterior_mm"] == "mm"
    assert units["disc_height_index"] == "" and units["level"] == ""
    assert table.GetColumnByName("level").GetValue(1) == "L5-S1"
    assert math.isnan(table.GetColumnByName("disc_height_index").GetValue(1))  # missing value
    assert table.GetColumnByName("voxel_size_mm").GetValue(0) == "0.43 x 0.43 x 4.4"
    assert table.GetColumnByName("notes").GetValue(1) == "S1 not segmented: no height index"
    assert table_node.GetColumnTitle("disc_height_anterior_mm") == "Anterior height"
    assert table_node.GetUseColumnTitleAsColumnHeader(), "the table view would show disc_height_mm, not the titles"

    # re-filling the same node replaces its content
    rows_to_table(_rows()[:1], table_node=table_node, columns=DISC_COLUMNS)
    assert table_node.GetTable().GetNumberOfRows() == 1


def test_stenosis_cells_are_coloured_by_grade_and_by_the_cut_off_that_fired(scene):
    from disccore.measure.stenosis import STENOSIS_COLOURS, grade_stenosis
    from discmrml.tables import rows_to_table, stenosis_cell_colours

    rows = []
    for level, ap, area in (("L3-L4", 14.0, 180.0), ("L4-L5", 8.0, 90.0), ("L5-S1", 12.0, 70.0)):
        grade, criterion = grade_stenosis(ap, area)
        rows.append(
            dict(
                level=level, canal_ap_diameter_mm=ap, canal_area_mm2=area, stenosis=grade, stenosis_criterion=criterion
            )
        )
    node = rows_to_table(rows, scene=scene)
    table = node.GetTable()
    col = {table.GetColumnName(i): i for i in range(table.GetNumberOfColumns())}
    red, amber = STENOSIS_COLOURS["absolute"], STENOSIS_COLOURS["relative"]
    assert stenosis_cell_colours(node) == {
        (1, col["stenosis"]): red,  # AP 8 mm: absolute; area 90 mm2: relative
        (1, col["canal_ap_diameter_mm"]): red,
        (1, col["canal_area_mm2"]): amber,
        (2, col["stenosis"]): red,  # area 70 mm2: absolute
        (2, col["canal_area_mm2"]): red,
    }
    rows_to_table([dict(level="L4-L5", stenosis="")], table_node=node)
    assert stenosis_cell_colours(node) == {}


def test_unknown_columns_are_typed_from_values(scene):
    from discmrml.tables import rows_to_table

    node = rows_to_table([{"level": "L4", "body_height_mm": 25.0, "comment": "ok"}], scene=scene)
    assert node.GetColumnUnitLabel("body_height_mm") == "mm"
    assert node.GetTable().GetColumnByName("body_height_mm").GetValue(0) == 25.0
    assert node.GetTable().GetColumnByName("comment").GetValue(0) == "ok"


def test_csv_export_and_no_clobber(scene, tmp_path):
    from disccore.errors import OutputError
    from discmrml.tables import rows_to_table, write_table_csv

    node = rows_to_table(_rows(), columns=DISC_COLUMNS, scene=scene)
    path = write_table_csv(node, tmp_path / "discs.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == DISC_COLUMNS
    assert rows[0]["disc_height_mm"] == "10.25" and rows[1]["disc_height_index"] == ""
    assert rows[0]["disc_volume_mm3"] == "15234.5" and rows[0]["disc_height_index"] == "0.41"
    with pytest.raises(OutputError):
        write_table_csv(node, path)
    write_table_csv(node, path, overwrite=True)


def test_heights_plot_has_a_bar_series_per_height(scene):
    from discmrml.tables import heights_plot, rows_to_table, show_table_and_plot

    table = rows_to_table(_rows(), columns=DISC_COLUMNS, scene=scene)
    chart = heights_plot(table)
    ys = []
    for i in range(chart.GetNumberOfPlotSeriesNodes()):
        series = chart.GetNthPlotSeriesNode(i)
        assert series.GetTableNode() is table
        assert series.GetPlotType() == series.PlotTypeBar
        assert series.GetLabelColumnName() == "level"
        ys.append(series.GetYColumnName())
    assert ys == ["disc_height_anterior_mm", "disc_height_middle_mm", "disc_height_posterior_mm", "disc_height_mm"]
    assert "mm" in chart.GetYAxisTitle()
    heights_plot(table, chart_node=chart)  # re-run reuses the series
    assert chart.GetNumberOfPlotSeriesNodes() == 4
    assert scene.GetNumberOfNodesByClass("vtkMRMLPlotSeriesNode") == 4
    assert show_table_and_plot(table, chart)


class _Line:
    def __init__(self, level, measurement, value_mm, start_ras, end_ras):
        self.level, self.measurement, self.value_mm, self.start_ras, self.end_ras = (
            level,
            measurement,
            value_mm,
            start_ras,
            end_ras,
        )


def _lines():
    return [
        _Line("L4-L5", "disc_height_middle_mm", 10.5, (1.5, -20.0, 30.25), (1.5, -20.0, 40.75)),
        _Line("L4-L5", "canal_ap_diameter_mm", 14.0, (0.0, -35.0, 35.0), (0.0, -49.0, 35.0)),
        _Line("L5-S1", "disc_height_anterior_mm", 12.0, (2.0, 10.0, 0.0), (2.0, 10.0, 12.0)),
    ]


def test_lines_are_markups_at_the_ras_endpoints_in_one_folder(scene):
    import slicer

    from discmrml.lines import line_nodes_in_folder, show_lines

    folder, nodes = show_lines(_lines(), scene=scene)
    assert [n.GetName() for n in nodes] == ["L4-L5 height middle", "L4-L5 canal AP", "L5-S1 height anterior"]
    for node, line in zip(nodes, _lines()):
        assert node.IsA("vtkMRMLMarkupsLineNode") and node.GetNumberOfControlPoints() == 2
        points = slicer.util.arrayFromMarkupsControlPoints(node)
        np.testing.assert_allclose(points[0], line.start_ras, atol=1e-9)
        np.testing.assert_allclose(points[1], line.end_ras, atol=1e-9)
        assert node.GetLineLengthWorld() == pytest.approx(line.value_mm, abs=1e-9)
        assert node.GetLocked()
        assert node.GetAttribute("DiscMRML.Measurement") == line.measurement
    sh = scene.GetSubjectHierarchyNode()
    assert sh.GetItemName(folder) == "Disc measurement lines"
    assert line_nodes_in_folder(folder, scene) == nodes

    # a second run replaces the lines in the same folder
    folder2, nodes2 = show_lines(_lines()[:1], scene=scene)
    assert folder2 == folder
    assert [n.GetName() for n in line_nodes_in_folder(folder, scene)] == ["L4-L5 height middle"]
    assert scene.GetNumberOfNodesByClass("vtkMRMLMarkupsLineNode") == 1


def test_lines_follow_the_volume_parent_transform(scene):
    import slicer
    import vtk

    from discmrml.lines import show_lines

    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    m = vtk.vtkMatrix4x4()
    m.SetElement(0, 3, 5.0)
    transform.SetMatrixTransformToParent(m)
    _, nodes = show_lines(_lines()[:1], parent_transform_node=transform, scene=scene)
    local = slicer.util.arrayFromMarkupsControlPoints(nodes[0])
    world = slicer.util.arrayFromMarkupsControlPoints(nodes[0], world=True)
    np.testing.assert_allclose(local[0], _lines()[0].start_ras)
    np.testing.assert_allclose(world[0], np.add(_lines()[0].start_ras, (5.0, 0, 0)))


def test_remove_lines_deletes_an_earlier_runs_lines_and_folder(scene):
    from discmrml.lines import lines_folder_name, remove_lines, show_lines

    name = lines_folder_name("case segmentation")
    show_lines(_lines(), folder_name=name, scene=scene)
    kept_folder, kept = show_lines(_lines()[:1], folder_name=lines_folder_name("other"), scene=scene)
    assert scene.GetNumberOfNodesByClass("vtkMRMLMarkupsLineNode") == 4
    assert remove_lines(name, scene=scene) == 3
    assert scene.GetNumberOfNodesByClass("vtkMRMLMarkupsLineNode") == 1 and kept[0].GetScene() is scene
    sh = scene.GetSubjectHierarchyNode()
    names = [
        sh.GetItemName(sh.GetItemByPositionUnderParent(sh.GetSceneItemID(), i))
        for i in range(sh.GetNumberOfItemChildren(sh.GetSceneItemID()))
    ]
    assert name not in names and lines_folder_name("other") in names
    assert remove_lines(name, scene=scene) == 0  # nothing left to remove
