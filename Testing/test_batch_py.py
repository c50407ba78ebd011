"""batch.py on slicer-core: the Slicer batch path, run for real as ``python batch.py ...``.

The model is the stand-in of fake_disccore_segment.py (labels = intensities), reached through the
DISCCORE_PYTHON setting (the real feature that runs the model in another Python environment).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("slicer_core", reason="slicer-core (MRML without Qt) is not installed")

from conftest_mrml import oblique_geometry  # noqa: E402

from disccore.image import SpatialImage  # noqa: E402

pytestmark = pytest.mark.mrml
REPO = Path(__file__).resolve().parents[1]
FAKE = Path(__file__).with_name("fake_disccore_segment.py")


def _case_images(folder: Path) -> None:
    """Two good cases (oblique grids; intensities = label values) and one broken file."""
    from disccore.io import write_image

    folder.mkdir()
    for name, left in (("good_a", False), ("good_b", True)):
        g = oblique_geometry(size=(40, 44, 9), spacing=(0.6, 0.6, 3.5), left_handed=left)
        labels = _spine(g)
        write_image(SpatialImage(labels.astype(np.float32), g), folder / f"{name}.nii.gz")
    (folder / "broken.nii.gz").write_bytes(gzip.compress(b"not an image at all" * 10))


def _spine(g):
    """L4 / L4-L5 / L5 slabs stacked along j with a canal behind them (i), on the grid g."""
    a = np.zeros(g.size, np.int16)
    ni, nj, nk = g.size
    a[6:30, 4:16, 1:-1] = 23
    a[6:30, 16:22, 1:-1] = 123
    a[6:30, 22:36, 1:-1] = 24
    a[31:37, 8:32, 3:-3] = 201
    return a


def test_script_arguments_after_double_dash():
    sys.path.insert(0, str(REPO))
    try:
        import batch
    finally:
        sys.path.remove(str(REPO))
    assert batch.script_arguments(["--input", "a", "--output", "b"]) == ["--input", "a", "--output", "b"]
    assert batch.script_arguments(["--no-main-window", "--", "--input", "a"]) == ["--input", "a"]
    args = batch.build_parser().parse_args(
        ["--input", "x", "-o", "y", "--device", "cuda", "--model", "m", "--overwrite"]
    )
    assert (args.more_inputs, args.output, args.device, args.model, args.overwrite) == (["x"], "y", "cuda", "m", True)


def test_missing_input_fails_without_creating_the_output_folder(tmp_path):
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "batch.py"),
            "--input",
            str(tmp_path / "nope.nii.gz"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not (tmp_path / "out").exists()


#: the quality report the stand-in model writes beside its segmentation (as disccore segment does)
QUALITY_REPORT = {"case": ["L5 not recognised: names counted from the lowest body"], "levels": {}, "segmentation": {}}


def _run_batch(tmp_path, *extra):
    env = dict(
        os.environ,
        DISCCORE_PYTHON=f"{sys.executable} {FAKE}",
        PYTHONPATH="",
        FAKE_SEGMENT_QC=json.dumps(QUALITY_REPORT),
    )
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "batch.py"),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--quiet",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )


def test_batch_py_segments_measures_and_survives_a_broken_case(tmp_path):
    slicerio = pytest.importorskip("slicerio")
    from disccore.measure import DISC_COLUMNS

    _case_images(tmp_path / "in")
    proc = _run_batch(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one case failed
    out = tmp_path / "out"
    assert "2 of 3 cases succeeded" in proc.stdout
    assert "FAILED broken" in proc.stdout

    for case in ("good_a", "good_b"):
        seg = slicerio.read_segmentation(str(out / f"{case}.seg.nrrd"))
        names = {s["name"] for s in seg["segments"]}
        assert names == {"L4", "L4-L5", "L5", "canal"}
        with open(out / f"{case}_discs.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == list(DISC_COLUMNS)
        assert [r["level"] for r in rows] == ["L4-L5"]
        assert QUALITY_REPORT["case"][0] in rows[0]["qc"].split("; ")  # the model's quality flags reach the CSV
        assert float(rows[0]["disc_volume_mm3"]) == pytest.approx(24 * 6 * 7 * 0.6 * 0.6 * 3.5, rel=1e-6)
        assert (out / f"{case}_report.png").stat().st_size > 0  # the files of 'disccore run', all of them
        assert json.loads((out / f"{case}_measurements.json").read_text())["discs"][0]["level"] == "L4-L5"
    assert not (out / "broken.seg.nrrd").exists()

    with open(out / "summary.csv", newline="") as f:
        summary = {r["case"]: r for r in csv.DictReader(f)}
    assert set(summary) == {"good_a", "good_b", "broken"}
    assert summary["good_a"]["status"] == "ok" and summary["good_a"]["L4-L5 disc_volume_mm3"]
    assert summary["good_a"]["needs_review"] == "yes" and summary["broken"]["needs_review"] == ""
    assert "batch.py: warning: good_a needs review: L5 not recognised" in proc.stderr
    assert summary["broken"]["status"] == "failed" and summary["broken"]["error"]
    assert (out / "all_levels.csv").exists()

    # a second run refuses to overwrite (before any work; --overwrite replaces)
    again = _run_batch(tmp_path)
    assert again.returncode == 5 and "already exists" in again.stderr

    # --resume: the finished cases are taken as they are, the broken one is tried again
    before = (out / "good_a.seg.nrrd").stat().st_mtime_ns
    resumed = _run_batch(tmp_path, "--resume")
    assert resumed.returncode == 1 and "done   good_a" in resumed.stdout and "FAILED broken" in resumed.stdout
    assert (out / "good_a.seg.nrrd").stat().st_mtime_ns == before
    with open(out / "summary.csv", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["failed", "ok", "ok"]
