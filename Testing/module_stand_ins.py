"""Load a module file (DiscSegmenter.py, DiscMeasure.py) on slicer-core, with stand-ins for what it lacks.

slicer-core has MRML but no Qt and no ScriptedLoadableModule base classes, so those are replaced by
minimal stand-ins for the duration of a test (``monkeypatch``); everything done with nodes is real.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def install_stand_ins(monkeypatch):
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

    for cls in (
        ScriptedLoadableModule,
        ScriptedLoadableModuleWidget,
        ScriptedLoadableModuleLogic,
        ScriptedLoadableModuleTest,
    ):
        setattr(slm, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, "slicer.ScriptedLoadableModule", slm)
    pnw = types.ModuleType("slicer.parameterNodeWrapper")
    pnw.parameterNodeWrapper = lambda cls: cls
    pnw.Choice = lambda choices: ("Choice", tuple(choices))
    monkeypatch.setitem(sys.modules, "slicer.parameterNodeWrapper", pnw)


def load_module(monkeypatch, name):
    install_stand_ins(monkeypatch)
    monkeypatch.syspath_prepend(str(REPO / name))  # as Slicer puts a scripted module's folder on the path (its Lib)
    spec = importlib.util.spec_from_file_location(f"_selftest_{name}", REPO / name / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_self_test(module, name, method="runTest"):
    test = getattr(module, f"{name}Test")(method)
    result = unittest.TestResult()
    test.run(result)
    assert not result.errors and not result.failures, result.errors + result.failures
