"""benchmarks/same_outputs.py: the check that a speed change left every label and measurement as it was."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from disccore.image import Geometry, SpatialImage
from disccore.io import write_segmentation

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "same_outputs.py"


def _load():
    spec = importlib.util.spec_from_file_location("same_outputs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _case(folder: Path, labels: np.ndarray, csv_text: str) -> Path:
    folder.mkdir()
    write_segmentation(SpatialImage(labels, Geometry(labels.shape)), folder / "c.seg.nrrd", {1: "L4", 2: "L4-L5"})
    (folder / "c_discs.csv").write_text(csv_text)
    (folder / "c_report.png").write_bytes(folder.name.encode())  # differs in every case: pictures are not compared
    return folder


def test_one_voxel_one_digit_or_one_missing_file_is_a_difference(tmp_path):
    same_outputs = _load()
    labels = np.zeros((6, 7, 5), np.uint8)
    labels[1:3, 2:5, 1:4] = 1
    labels[3:5, 2:5, 1:4] = 2
    before = _case(tmp_path / "before", labels, "level,height\nL4-L5,9.1\n")
    assert same_outputs.differences(before, _case(tmp_path / "same", labels.copy(), "level,height\nL4-L5,9.1\n")) == []
    moved = labels.copy()
    moved[4, 4, 3] = 0
    assert same_outputs.differences(before, _case(tmp_path / "voxel", moved, "level,height\nL4-L5,9.1\n")) == [
        "differs: c.seg.nrrd"
    ]
    assert same_outputs.differences(before, _case(tmp_path / "digit", labels, "level,height\nL4-L5,9.2\n")) == [
        "differs: c_discs.csv"
    ]
    (tmp_path / "same" / "c_discs.csv").unlink()
    assert same_outputs.differences(before, tmp_path / "same") == [f"only in {before}: c_discs.csv"]
