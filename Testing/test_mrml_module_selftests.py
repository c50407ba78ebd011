"""The modules' Logic and self-tests (ScriptedLoadableModuleTest) run on slicer-core (stand-ins for Qt and the
ScriptedLoadableModule base classes: module_stand_ins.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest_mrml import *  # noqa: F401,F403
from module_stand_ins import load_module, run_self_test

pytestmark = pytest.mark.mrml


def test_disc_segmenter_self_test_import_keeps_edits(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscSegmenter")
    run_self_test(module, "DiscSegmenter", "test_DiscSegmenter_import_keeps_edits")


@pytest.mark.slow
def test_disc_segmenter_self_test_runs_the_model_on_the_sample(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscSegmenter")
    if not module.DiscSegmenterLogic().availableModels() or module.DiscSegmenterLogic().missingPackages("CPU"):
        pytest.skip("no model, or onnxruntime / scipy / SimpleITK missing")
    run_self_test(module, "DiscSegmenter", "test_DiscSegmenter_model")


def test_disc_segmenter_logic_runs_the_model_out_of_process(scene, monkeypatch):
    import numpy as np

    from disccore.image import SpatialImage
    from discmrml.selftest import synthetic_case
    from discmrml.volumes import image_to_volume

    module = load_module(monkeypatch, "DiscSegmenter")
    case = synthetic_case("DiscSegmenterTest")
    volume, labels = case.volume, case.labels
    # the stand-in model returns the intensities as labels: give it the label values
    image_to_volume(SpatialImage(labels.array.astype(np.float32), labels.geometry), volume_node=volume)
    fake = [sys.executable, str(Path(__file__).with_name("fake_disccore_segment.py"))]
    node, update = module.DiscSegmenterLogic().segment(volume, device="cpu", python=fake)
    assert sorted(update.added) == ["L4", "L4-L5", "L5", "canal"]
    job = module.DiscSegmenterLogic().startSegmentation(volume, "", "GPU", python=fake)
    assert job.process.command[-2:] == ["--device", "cuda"]  # no --model when none is chosen
    job.wait()
    _, again = job.finish(node)
    assert sorted(again.added) == ["L4", "L4-L5", "L5", "canal"] and not again.kept


def test_disc_measure_self_test(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscMeasure")
    run_self_test(module, "DiscMeasure")
