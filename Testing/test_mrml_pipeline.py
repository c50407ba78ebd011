"""Segmentation node -> measurement in the scene: same numbers as disccore, lines where they were measured."""

from __future__ import annotations

import numpy as np
import pytest
from conftest_mrml import *  # noqa: F401,F403
from conftest_mrml import oblique_geometry

from disccore import anatomy
from disccore.image import SpatialImage, ras_to_lps

pytestmark = pytest.mark.mrml


def _spine_labels(left_handed=False):
    g = oblique_geometry(size=(40, 44, 9), spacing=(0.6, 0.6, 3.5), left_handed=left_handed)
    a = np.zeros(g.size, np.int16)
    a[6:30, 4:16, 1:-1] = 23
    a[6:30, 16:22, 1:-1] = 123
    a[6:30, 22:36, 1:-1] = 24
    a[31:37, 8:32, 3:-3] = 201
    return SpatialImage(a, g)


@pytest.mark.parametrize("left_handed", [False, True])
def test_measure_segmentation_node_matches_disccore_and_places_lines(scene, left_handed):
    import slicer

    from disccore.measure import DISC_COLUMNS, measure_segmentation
    from discmrml.pipeline import measure_segmentation_node
    from discmrml.segmentations import labelmap_to_segmentation
    from discmrml.tables import table_rows
    from discmrml.volumes import image_to_volume

    labels = _spine_labels(left_handed)
    volume = image_to_volume(SpatialImage(np.zeros(labels.geometry.size, np.float32), labels.geometry), scene=scene)
    segmentation, _ = labelmap_to_segmentation(labels, reference_volume=volume, scene=scene)

    measured = measure_segmentation_node(segmentation, volume)
    direct = measure_segmentation(labels, {23: "L4", 24: "L5", 123: "L4-L5", 201: "canal"})

    names, rows = table_rows(measured.table_node)
    assert names == list(DISC_COLUMNS)
    assert len(rows) == len(direct.discs) == 1
    for column in ("disc_volume_mm3", "disc_height_mm", "canal_ap_diameter_mm"):
        got = measured.table_node.GetTable().GetColumnByName(column).GetValue(0)
        want = direct.discs[0][column]
        if want is None:
            assert np.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-9)
    assert measured.result.discs[0]["disc_volume_mm3"] == pytest.approx(24 * 6 * 7 * labels.geometry.voxel_volume_mm3)
    assert measured.chart_node.GetNumberOfPlotSeriesNodes() >= 1
    vnames, vrows = table_rows(measured.vertebra_table_node)
    assert [r[0] for r in vrows] == ["L4", "L5"] and "vertebra_volume_mm3" in vnames

    assert len(measured.line_nodes) == len(direct.lines) > 0
    for node, line in zip(measured.line_nodes, direct.lines):
        points = slicer.util.arrayFromMarkupsControlPoints(node)
        np.testing.assert_allclose(points[0], line.start_ras, atol=1e-9)
        np.testing.assert_allclose(points[1], line.end_ras, atol=1e-9)
        assert node.GetName().startswith(line.level)
        assert np.linalg.norm(points[1] - points[0]) == pytest.approx(line.value_mm, rel=1e-6)
        # the middle of a measured line lies in the structure it measures (RAS -> LPS -> voxel index)
        mid = labels.geometry.lps_to_index(ras_to_lps((points[0] + points[1]) / 2))
        value = labels.array[tuple(np.clip(np.rint(mid).astype(int), 0, np.array(labels.geometry.size) - 1))]
        expected = anatomy.canal().label if "canal" in line.measurement else anatomy.by_name(line.level).label
        assert value == expected, (line.level, line.measurement, mid)


def test_measure_reports_segments_outside_the_scheme(scene):
    from discmrml.pipeline import measure_segmentation_node
    from discmrml.segmentations import labelmap_to_segmentation

    labels = _spine_labels()
    segmentation, _ = labelmap_to_segmentation(labels, scene=scene)
    segmentation.GetSegmentation().AddEmptySegment("", "tumour", (1, 0, 0))
    measured = measure_segmentation_node(segmentation)
    assert measured.ignored_segments == ["tumour"]
    assert "tumour" in measured.summary()


def test_the_panel_summary_names_the_stenosis_grades(scene):
    from disccore.measure import MeasurementResult
    from discmrml.pipeline import Measurement

    discs = [{"level": "L3-L4", "stenosis": ""}, {"level": "L4-L5", "stenosis": "absolute"}, {"level": "L5-S1"}]
    measured = Measurement(MeasurementResult(discs=discs), None, None, None, None)
    assert measured.summary() == "3 disc level(s) measured (L3-L4, L4-L5, L5-S1); dural sac stenosis: L4-L5 absolute"
    measured.result.discs[1]["stenosis"] = ""
    assert "stenosis" not in measured.summary()


def test_exported_csv_is_the_text_disccore_writes(scene, tmp_path):
    """The panel's Export CSV / batch.py's CSV == disccore.measure.write_disc_csv for the same result."""
    from disccore.measure import write_disc_csv, write_vertebra_csv
    from discmrml.pipeline import measure_segmentation_node
    from discmrml.segmentations import labelmap_to_segmentation
    from discmrml.tables import write_table_csv

    labels = _spine_labels(left_handed=True)
    segmentation, _ = labelmap_to_segmentation(labels, scene=scene)
    measured = measure_segmentation_node(segmentation, lines=False)
    ours = write_table_csv(measured.table_node, tmp_path / "ours.csv").read_text()
    theirs = write_disc_csv(measured.result, tmp_path / "core.csv").read_text()
    assert ours == theirs
    ours_v = write_table_csv(measured.vertebra_table_node, tmp_path / "ours_v.csv").read_text()
    assert ours_v == write_vertebra_csv(measured.result, tmp_path / "core_v.csv").read_text()
