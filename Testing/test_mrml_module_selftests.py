"""The modules' Logic and self-tests (ScriptedLoadableModuleTest) run on slicer-core.

slicer-core has MRML but no Qt and no ScriptedLoadableModule base classes, so those are replaced by
minimal stand-ins for the duration of each test; everything the logic does with nodes is real.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import unittest
from pathlib import Path

import pytest

from conftest_mrml import *  # noqa: F401,F403

pytestmark = pytest.mark.mrml
REPO = Path(__file__).resolve().parents[1]


def _stand_ins(monkeypatch):
    import slicer

    qt = types.ModuleType("qt")
    qt.Qt = types.SimpleNamespace(ToolTipRole=3, WaitCursor=3)
    monkeypatch.setitem(sys.modules, "qt", qt)

    slm = types.ModuleType("slicer.ScriptedLoadableModule")

    class ScriptedLoadableModule:
        def __init__(self, parent):
            self.parent = parent

    class ScriptedLoadableModuleWidget:
        def __init__(self, parent=None):
            self.parent = parent

    class ScriptedLoadableModuleLogic:
        def __init__(self):
            pass

        def getParameterNode(self):
            return slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")

    class ScriptedLoadableModuleTest(unittest.TestCase):
        def delayDisplay(self, message, msec=0):
            print(message)

    for cls in (ScriptedLoadableModule, ScriptedLoadableModuleWidget, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest):
        setattr(slm, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, "slicer.ScriptedLoadableModule", slm)
    pnw = types.ModuleType("slicer.parameterNodeWrapper")
    pnw.parameterNodeWrapper = lambda cls: cls
    pnw.Choice = lambda choices: ("Choice", tuple(choices))
    monkeypatch.setitem(sys.modules, "slicer.parameterNodeWrapper", pnw)


def _load(monkeypatch, name):
    _stand_ins(monkeypatch)
    spec = importlib.util.spec_from_file_location(f"_selftest_{name}", REPO / name / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_self_test(module, name):
    test = getattr(module, f"{name}Test")("runTest")
    result = unittest.TestResult()
    test.run(result)
    assert not result.errors and not result.failures, result.errors + result.failures


def test_disc_segmenter_self_test(scene, monkeypatch):
    module = _load(monkeypatch, "DiscSegmenter")
    _run_self_test(module, "DiscSegmenter")


def test_disc_segmenter_logic_runs_the_model_out_of_process(scene, monkeypatch):
    import numpy as np

    module = _load(monkeypatch, "DiscSegmenter")
    volume, labels = module.DiscSegmenterTest._syntheticCase()
    # the stand-in model returns the intensities as labels: give it the label values
    from discmrml.volumes import image_to_volume

    from disccore.image import SpatialImage

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
    module = _load(monkeypatch, "DiscMeasure")
    _run_self_test(module, "DiscMeasure")
