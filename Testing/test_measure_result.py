"""MeasurementResult: CSV / JSON writers (atomic, no clobbering, empty cells / null for missing values)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from phantoms_analytic import DiscSpec, StackSpec, build_stack, make_geometry

from disccore.errors import OutputError
from disccore.measure import (
    DISC_COLUMNS,
    VERTEBRA_COLUMNS,
    MeasuredLine,
    MeasurementResult,
    measure_segmentation,
    write_disc_csv,
    write_json,
    write_vertebra_csv,
)


@pytest.fixture(scope="module")
def result():
    spec = StackSpec(discs=[DiscSpec(10.0, 0.1), DiscSpec(9.0, 0.05)], tilt_deg=10.0, canal_ap=9.0)
    geom = make_geometry((4.4, 0.43, 0.43), "native", oblique_deg=3.0, extent_mm=130.0)
    labels, names, _ = build_stack(spec, geom)
    return measure_segmentation(labels, names)


def test_disc_csv(tmp_path, result):
    path = write_disc_csv(result, tmp_path / "discs.csv")
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == list(DISC_COLUMNS)
    assert [r["level"] for r in rows] == ["L4-L5", "L5-S1"]
    assert rows[0]["stenosis"] == "absolute"
    assert float(rows[1]["disc_height_index"]) == pytest.approx(9.0 / 25.0, abs=0.01)
    assert float(rows[0]["disc_height_mm"]) == pytest.approx(result.discs[0]["disc_height_mm"], abs=1e-3)
    assert rows[0]["voxel_size_mm"] == "0.43x0.43x4.40"
    assert [p.name for p in tmp_path.iterdir()] == ["discs.csv"]  # no temporary file left


def test_refuses_to_overwrite(tmp_path, result):
    path = tmp_path / "discs.csv"
    path.write_text("keep")
    with pytest.raises(OutputError):
        write_disc_csv(result, path)
    assert path.read_text() == "keep"
    write_disc_csv(result, path, overwrite=True)
    assert path.read_text().startswith("level,")
    with pytest.raises(OutputError):
        write_json(result, tmp_path / "missing" / "x.json")


def test_vertebra_csv_and_json(tmp_path, result):
    vpath = write_vertebra_csv(result, tmp_path / "v.csv")
    rows = list(csv.DictReader(vpath.open()))
    assert list(rows[0]) == list(VERTEBRA_COLUMNS)
    assert [r["level"] for r in rows] == ["L4", "L5", "S1"]
    jpath = write_json(result, tmp_path / "r.json")
    doc = json.loads(jpath.read_text())
    assert set(doc) >= {"discs", "vertebrae", "lines", "voxel_spacing_mm", "units", "definitions", "warnings"}
    assert doc["units"]["coordinates"] == "RAS"
    assert len(doc["voxel_spacing_mm"]) == 3
    assert doc["discs"][0]["level"] == "L4-L5"
    line = doc["lines"][0]
    assert set(line) == {"level", "measurement", "value_mm", "start_ras", "end_ras"}
    assert len(line["start_ras"]) == 3
    assert "central 80 %" in doc["definitions"]["disc_height_mm"]


def test_missing_values_are_empty_and_null(tmp_path):
    r = MeasurementResult(voxel_spacing_mm=(1.0, 1.0, 1.0))
    r.discs.append(
        {c: None for c in DISC_COLUMNS} | {"level": "L4-L5", "disc_volume_mm3": 1000.0, "notes": "no canal segmented"}
    )
    r.lines.append(MeasuredLine("L4-L5", "disc_height_mm", 10.0, (0.0, 0.0, 0.0), (0.0, 0.0, 10.0)))
    rows = list(csv.DictReader(write_disc_csv(r, tmp_path / "d.csv").open()))
    assert rows[0]["disc_height_mm"] == "" and rows[0]["canal_area_mm2"] == ""
    doc = json.loads(write_json(r, tmp_path / "d.json").read_text())
    assert doc["discs"][0]["disc_height_mm"] is None
    assert doc["lines"][0]["end_ras"] == [0.0, 0.0, 10.0]
    assert np.isfinite(doc["discs"][0]["disc_volume_mm3"])
