"""Out-of-process segmentation runner, with a stand-in for ``python -m disccore segment``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest_mrml import *  # noqa: F401,F403
from conftest_mrml import make_labels, oblique_geometry

from disccore.image import SpatialImage
from disccore.quality.flags import STENOSIS_ON_MODEL_OUTLINE

pytestmark = pytest.mark.mrml
FAKE = Path(__file__).with_name("fake_disccore_segment.py")
FAKE_PYTHON = [sys.executable, str(FAKE)]


def _volume(scene, left_handed=True):
    from discmrml.volumes import image_to_volume

    g = oblique_geometry(left_handed=left_handed)
    labels = make_labels(g)
    # the stand-in model returns the intensities as labels
    return image_to_volume(SpatialImage(labels.array.astype(np.float32), g), name="case", scene=scene), labels


def test_command_line_matches_the_cli(tmp_path, monkeypatch):
    from discmrml.runner import python_command, segment_command

    cmd = segment_command("in.nrrd", "out.seg.nrrd", model="disc-v1", device="GPU", python="/opt/py")
    assert cmd == [
        "/opt/py",
        "-m",
        "disccore",
        "segment",
        "in.nrrd",
        "-o",
        "out.seg.nrrd",
        "--device",
        "cuda",
        "--model",
        "disc-v1",
    ]
    assert segment_command("a", "b", python="p")[-2:] == ["--device", "auto"]
    monkeypatch.setenv("DISCCORE_PYTHON", "conda run -n gpu python")
    assert python_command() == ["conda", "run", "-n", "gpu", "python"]
    monkeypatch.delenv("DISCCORE_PYTHON")
    assert python_command() == [sys.executable]  # outside Slicer: this Python


def test_parse_progress():
    from discmrml.runner import parse_progress

    assert parse_progress("segment [#####.......]  42.0%    3.1s running the model") == (0.42, "running the model")
    assert parse_progress("some log line") is None


def test_segment_volume_out_of_process_exact_labels_and_progress(scene, tmp_path, monkeypatch):
    from discmrml.runner import segment_volume_node
    from discmrml.segmentations import segmentation_to_labelmap

    record = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_SEGMENT_RECORD", str(record))
    volume, labels = _volume(scene)
    seen = []
    node, update = segment_volume_node(
        volume, model="m1", device="cpu", python=FAKE_PYTHON, progress=lambda f, m: seen.append((f, m))
    )
    argv = json.loads(record.read_text())
    assert argv[:3] == ["-m", "disccore", "segment"] and argv[-4:] == ["--device", "cpu", "--model", "m1"]
    assert sorted(update.added) == ["L4", "L4-L5", "L5", "canal"]
    back, names, _ = segmentation_to_labelmap(node, volume)
    np.testing.assert_array_equal(back.array, labels.array)  # oblique, left-handed grid survives the round trip
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and 0.75 in fractions and fractions[-1] == 1.0
    assert not any(Path(p).exists() for p in argv[3:4])  # the temporary input was removed


def test_the_models_quality_report_reaches_the_panel_and_the_table(scene, monkeypatch):
    from discmrml.panels import status_with_warning
    from discmrml.pipeline import measure_segmentation_node
    from discmrml.runner import segment_volume_node
    from discmrml.tables import table_rows

    flag = "L5 not recognised: names counted from the lowest body"
    report = {"case": [flag], "levels": {"L4-L5": ["low confidence 0.50"]}, "segmentation": {"lumbar_bodies": 2}}
    volume, _ = _volume(scene)
    node, update = segment_volume_node(volume, python=FAKE_PYTHON)
    assert update.quality is None and update.review_warning() == ""  # no report written: no warning
    monkeypatch.setenv("FAKE_SEGMENT_QC", json.dumps(report))
    node, update = segment_volume_node(volume, node, python=FAKE_PYTHON, replace=True)
    assert update.quality == report
    status = status_with_warning("Done.", update.review_warning())
    assert status == f"Done. \u26a0 Needs review: {flag} (+1 more); see the qc column" and "\n" not in status
    measured = measure_segmentation_node(node, volume, lines=False, quality=update.quality)
    names, rows = table_rows(measured.table_node)
    # the measurement's own check of this small test disc first, then the model's flags (its narrow test canal is
    # graded stenotic on the model's outline)
    own = f"implausible disc height 1.2 mm; low confidence 0.50; {STENOSIS_ON_MODEL_OUTLINE}"
    assert rows and rows[0][names.index("qc")] == f"{own}; {flag}"
    assert measured.review_warning() == f"Needs review: {flag} (+3 more); see the qc column"
    assert measured.result.to_dict()["qc"]["segmentation"] == {"lumbar_bodies": 2}


def test_child_errors_become_typed_errors(scene, monkeypatch):
    from disccore.errors import ModelError
    from discmrml.runner import segment_volume_node

    monkeypatch.setenv("FAKE_SEGMENT_FAIL", "6:the model file is damaged (checksum mismatch); reinstall the extension")
    volume, _ = _volume(scene)
    with pytest.raises(ModelError, match="checksum mismatch"):
        segment_volume_node(volume, python=FAKE_PYTHON)
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 0


def test_missing_interpreter_is_a_model_error(scene):
    from disccore.errors import ModelError
    from discmrml.runner import segment_volume_node

    volume, _ = _volume(scene)
    with pytest.raises(ModelError, match="could not start"):
        segment_volume_node(volume, python="/nonexistent/PythonSlicer")


@pytest.mark.skipif(os.name == "nt", reason="uses sleep and process groups")
def test_cancel_kills_the_process_tree(scene, tmp_path, monkeypatch):
    from disccore.errors import Cancelled
    from discmrml.runner import SegmentationJob

    pid_file = tmp_path / "grandchild.pid"
    monkeypatch.setenv("FAKE_SEGMENT_SLEEP", "60")
    monkeypatch.setenv("FAKE_SEGMENT_CHILD_PID", str(pid_file))
    volume, _ = _volume(scene)
    job = SegmentationJob(volume, python=FAKE_PYTHON).start()
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        assert job.poll() is None
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    start = time.monotonic()
    job.cancel()
    assert time.monotonic() - start < 5
    assert job.process._proc.poll() is not None
    with pytest.raises(Cancelled):
        job.finish()
    for _ in range(50):  # the grandchild got SIGTERM with its group
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        try:
            os.waitpid(grandchild, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    else:
        pytest.fail("the model's child process survived Cancel")
    assert job._tmp is None  # temporary files removed


@pytest.mark.slow
def test_real_model_out_of_process_when_installed(scene):
    """The real path: ``python -m disccore segment`` with the shipped model (skipped until one is installed)."""
    from disccore.models import list_models
    from disccore.phantom import make_lumbar_phantom

    if not list_models():
        pytest.skip("no model installed in models/")
    from disccore import anatomy
    from discmrml.runner import segment_volume_node
    from discmrml.segmentations import segmentation_to_labelmap
    from discmrml.volumes import image_to_volume

    phantom = make_lumbar_phantom()
    volume = image_to_volume(phantom.image, name="phantom", scene=scene)
    node, update = segment_volume_node(volume, device="cpu", timeout=600)
    assert update.added, "the model found nothing in the phantom"
    assert all(anatomy.by_name(n) for n in update.added)
    labels, _, _ = segmentation_to_labelmap(node, volume)
    assert labels.geometry.same_grid(phantom.image.geometry, tol=1e-6)


def test_progress_is_read_by_poll_without_reader_threads(tmp_path):
    """Inside Slicer a reader thread only runs when the panel's timer runs Python: poll() itself reads."""
    import threading

    from discmrml.runner import ModelProcess

    script = (
        "import sys, time\n"
        "sys.stderr.write('segment [#.]  10.0%    0.1s loading\\rsegment [##]  60.0%    0.2s running\\r')\n"
        "sys.stderr.flush(); print('a log line', flush=True)\n"
        "sys.stderr.write('segment [##] 100.0%    0.3s writing')\n"
    )  # no line break at the very end
    seen = []
    before = threading.active_count()
    process = ModelProcess([sys.executable, "-c", script], progress=lambda f, m: seen.append((f, m))).start()
    assert threading.active_count() == before, "the runner started reader threads"
    output_file = Path(process._output_path)
    assert output_file.is_file()
    assert process.wait(timeout=60) == 0
    assert seen == [(0.1, "loading"), (0.6, "running"), (1.0, "writing")]
    assert "a log line" in process.log
    assert not output_file.exists()  # removed once the child ended


def test_a_child_writing_more_than_a_pipe_holds_never_blocks():
    """Between two polls the child may write much more than a pipe buffer (64 KiB) without stalling."""
    from discmrml.runner import ModelProcess

    script = "import sys\nfor i in range(20000): print('x' * 60, i)\n"
    process = ModelProcess([sys.executable, "-c", script]).start()
    deadline = time.monotonic() + 60
    while process._proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # nobody reads meanwhile
    assert process._proc.poll() == 0, "the child blocked on its output"
    assert process.poll() == 0 and process.log[-1].endswith(" 19999")
