"""The panels' widget code on slicer-core: real MRML nodes, stand-ins for the Qt widgets and Slicer's wrappers.

What a user of a real Slicer would meet: brush edits that never re-measure, bindings that pile up on 5.8,
critical messages before the first run, a dialog per failed re-measure, torch from pip.
"""

from __future__ import annotations

import types

import pytest
from conftest_mrml import *  # noqa: F401,F403
from module_stand_ins import load_module

pytestmark = pytest.mark.mrml


class FakeWidget:
    """A widget: any attribute can be set; ``property()`` answers the .ui's dynamic properties."""

    def __init__(self, **properties):
        self._properties = properties

    def property(self, name):
        return self._properties.get(name)


class FakeTimer:
    def __init__(self):
        self.starts = 0
        self.running = False

    def start(self):
        self.starts += 1
        self.running = True

    def stop(self):
        self.running = False


class Wrapper58:
    """parameterNodeWrapper as in Slicer 5.8.x (wrapper.py): connectGui binds but returns None."""

    def __init__(self, **values):
        self.bindings = {}
        self._next_tag = 0
        self._observers = {}
        self.__dict__.update(values)

    def connectParametersToGui(self, mapping):
        tag, self._next_tag = self._next_tag, self._next_tag + 1
        self.bindings[tag] = dict(mapping)
        return tag

    def connectGui(self, gui):
        from discmrml.panels import parameter_widgets

        self.connectParametersToGui(parameter_widgets(gui))  # the tag is dropped, as in 5.8

    def disconnectGui(self, tag):
        self.bindings.pop(tag, None)

    def AddObserver(self, event, callback, priority=0.0):
        tag = len(self._observers) + 1
        self._observers[tag] = callback
        return tag

    def RemoveObserver(self, tag):
        self._observers.pop(tag, None)


def _measure_ui():
    return types.SimpleNamespace(
        segmentationSelector=FakeWidget(SlicerParameterName="segmentation"),
        sourceVolumeSelector=FakeWidget(SlicerParameterName="sourceVolume"),
        autoUpdateCheckBox=FakeWidget(SlicerParameterName="autoUpdate"),
        showLinesCheckBox=FakeWidget(SlicerParameterName="showLines"),
        tableSelector=FakeWidget(SlicerParameterName="table"),
        chartSelector=FakeWidget(SlicerParameterName="chart"),
        computeButton=FakeWidget(),
        exportButton=FakeWidget(),
        statusLabel=FakeWidget(),
    )


def _sample_segmentation():
    from discmrml import selftest
    from discmrml.segmentations import labelmap_to_segmentation

    case = selftest.load_sample() or selftest.synthetic_case()
    node, _ = labelmap_to_segmentation(case.labels, case.names, reference_volume=case.volume)
    return case, node


def _voxels(node, case, level):
    from discmrml.segmentations import segmentation_to_labelmap

    labels, names, _ = segmentation_to_labelmap(node, case.volume)
    value = next(v for v, n in names.items() if n == level)
    return int((labels.array == value).sum())


# --- 1. auto-update follows brush strokes --------------------------------------------------------
def test_every_brush_stroke_schedules_a_re_measure(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscMeasure")
    from discmrml import selftest

    widget = module.DiscMeasureWidget()
    widget._updateTimer = FakeTimer()
    case, node = _sample_segmentation()
    widget._parameterNode = types.SimpleNamespace(segmentation=node, sourceVolume=case.volume, autoUpdate=True)
    widget._editWatcher.watch(node)
    level = case.disc_levels[0]
    strokes = [lambda: selftest.paint_next_to_segment(node, level)] * 3
    strokes += [lambda: selftest.erase_part_of_segment(node, level, fraction=0.2)] * 2
    voxels = [_voxels(node, case, level)]
    for number, stroke in enumerate(strokes, 1):  # after the first: only SourceRepresentationModified
        before = widget._updateTimer.starts
        assert stroke() > 0
        assert widget._updateTimer.starts > before, f"stroke {number} scheduled no re-measure"
        voxels.append(_voxels(node, case, level))
    assert voxels[0] < voxels[1] < voxels[2] < voxels[3] and voxels[3] > voxels[4] > voxels[5]  # the strokes landed
    widget._editWatcher.watch(None)  # auto-update off / scene closing: edits no longer schedule anything
    before = widget._updateTimer.starts
    selftest.erase_part_of_segment(node, level, fraction=0.2)
    assert widget._updateTimer.starts == before


def test_the_edit_events_include_the_source_representation_event(scene, monkeypatch):
    import slicer

    module = load_module(monkeypatch, "DiscMeasure")
    assert slicer.vtkSegmentation.SourceRepresentationModified in module.segmentationEditEvents()


# --- 5. a failed re-measure while painting: one line in the panel, no dialog ---------------------
def test_auto_update_failure_is_logged_and_shown_in_one_line_without_a_dialog(scene, monkeypatch, caplog):
    import slicer

    from disccore.errors import LabelError

    module = load_module(monkeypatch, "DiscMeasure")
    dialogs = []
    monkeypatch.setattr(slicer.util, "errorDisplay", lambda *a, **k: dialogs.append(a), raising=False)

    class FailingLogic:
        def measure(self, *args, **kwargs):
            raise LabelError("no segment is named like a disc level\nsecond line of detail")

    widget = module.DiscMeasureWidget()
    widget.ui = _measure_ui()
    widget.logic = FailingLogic()
    widget._parameterNode = types.SimpleNamespace(
        autoUpdate=True, segmentation=object(), sourceVolume=None, table=None, chart=None, showLines=True
    )
    with caplog.at_level("ERROR"):
        widget.onAutoUpdate()
    assert not dialogs
    text = widget.ui.statusLabel.text
    assert "\n" not in text and "no segment is named like a disc level" in text
    assert "DiscMeasure: auto-update failed" in caplog.text and "second line of detail" in caplog.text


def test_measure_panel_shows_the_quality_warning_on_its_status_line(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscMeasure")

    class Measured:
        table_node = chart_node = None

        def __init__(self, warning):
            self.warning = warning

        def summary(self):
            return "5 disc level(s) measured"

        def review_warning(self):
            return self.warning

    widget = module.DiscMeasureWidget()
    widget.ui = _measure_ui()
    widget._parameterNode = types.SimpleNamespace(
        segmentation=object(), sourceVolume=None, table=None, chart=None, showLines=False
    )
    starts = []
    widget._colourTimer = types.SimpleNamespace(start=lambda: starts.append(1))  # the table's cells painted after
    for warning, status in (
        ("", "5 disc level(s) measured."),
        ("Needs review: x; see the qc column", "5 disc level(s) measured. \u26a0 Needs review: x; see the qc column"),
    ):
        widget.logic = types.SimpleNamespace(measure=lambda *a, w=warning, **k: Measured(w))
        widget._measure(showLayout=False)
        assert widget.ui.statusLabel.text == status
    assert len(starts) == 2, "each measurement must repaint the stenosis cells"


# --- 2. Slicer 5.8: bindings do not pile up ------------------------------------------------------
def test_entering_the_module_again_does_not_pile_up_bindings_on_slicer_5_8(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscMeasure")
    widget = module.DiscMeasureWidget()
    widget.ui = _measure_ui()
    widget._updateTimer = FakeTimer()
    parameters = Wrapper58(
        segmentation=None, sourceVolume=None, autoUpdate=False, showLines=True, table=None, chart=None
    )
    for _ in range(4):  # enter / exit, as a user switching modules
        widget.setParameterNode(parameters)
        assert len(parameters.bindings) == 1
        widget.exit()
        assert not parameters.bindings, "exit() left the widgets bound (disconnectGui(None) on 5.8)"


def test_connect_gui_returns_a_tag_where_connect_gui_returns_none():
    from discmrml.panels import connect_gui, disconnect_gui, parameter_widgets

    ui = types.SimpleNamespace(deviceComboBox=FakeWidget(SlicerParameterName="device"), applyButton=FakeWidget())
    assert parameter_widgets(ui) == {"device": ui.deviceComboBox}
    old_way = Wrapper58()
    for _ in range(3):
        old_way.disconnectGui(old_way.connectGui(ui))
    assert len(old_way.bindings) == 3  # what the panels did: three bindings fight over the device combo box
    parameters = Wrapper58()
    for _ in range(3):
        tag = connect_gui(parameters, ui)
        assert tag is not None and parameters.bindings[tag] == {"device": ui.deviceComboBox}
        disconnect_gui(parameters, tag)
    assert not parameters.bindings


# --- 3. no critical message before the first run -------------------------------------------------
class FakeSegmentEditor:
    """qMRMLSegmentEditorWidget::setSourceVolumeNode: critical message without a segmentation (and returns)."""

    def __init__(self):
        self.segmentation = None
        self.source = None
        self.critical = []
        self.sets = 0

    def segmentationNode(self):
        return self.segmentation

    def setSegmentationNode(self, node):
        self.segmentation = node

    def sourceVolumeNode(self):
        return self.source

    def setSourceVolumeNode(self, node):
        self.sets += 1
        if self.segmentation is None:
            if node is not None:
                self.critical.append("need to set segment editor and segmentation nodes first")
            return
        self.source = node


def test_the_segment_editor_gets_no_source_volume_before_a_segmentation(scene, monkeypatch):
    module = load_module(monkeypatch, "DiscSegmenter")
    case, node = _sample_segmentation()
    widget = module.DiscSegmenterWidget()
    widget.ui = types.SimpleNamespace(segmentEditorWidget=FakeSegmentEditor())
    editor = widget.ui.segmentEditorWidget
    before_run = types.SimpleNamespace(inputVolume=case.volume, outputSegmentation=None)
    for _ in range(3):  # every parameter change before the first Apply
        widget._updateSegmentEditor(before_run)
    assert not editor.critical
    after_run = types.SimpleNamespace(inputVolume=case.volume, outputSegmentation=node)
    widget._updateSegmentEditor(after_run)
    widget._updateSegmentEditor(after_run)
    assert editor.segmentation is node and editor.source is case.volume and editor.sets == 1
    assert not editor.critical


# --- 5. which packages, and never torch from pip -------------------------------------------------
@pytest.fixture
def package_calls(monkeypatch):
    import contextlib

    import slicer

    calls = []
    monkeypatch.setattr(slicer.util, "pip_install", lambda packages: calls.append(("pip", packages)), raising=False)
    monkeypatch.setattr(
        slicer.util, "confirmOkCancelDisplay", lambda *a, **k: calls.append("asked") or True, raising=False
    )
    monkeypatch.setattr(slicer.util, "errorDisplay", lambda text, *a, **k: calls.append(("error", text)), raising=False)
    monkeypatch.setattr(slicer.util, "WaitCursor", contextlib.nullcontext, raising=False)
    return calls


def _pretend_missing(monkeypatch, names):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in names else real(name, *a))


def test_the_cpu_needs_onnxruntime_and_no_torch(scene, monkeypatch, package_calls):
    module = load_module(monkeypatch, "DiscSegmenter")
    assert set(module.requiredPackages("CPU")) == {"scipy", "SimpleITK", "onnxruntime"}
    assert module.requiredPackages("auto") == module.requiredPackages("CPU")
    assert "torch" in module.requiredPackages("GPU") and "onnxruntime" not in module.requiredPackages("GPU")
    _pretend_missing(monkeypatch, {"onnxruntime", "torch"})
    logic = module.DiscSegmenterLogic()
    assert logic.missingPackages("CPU") == ["onnxruntime"]
    logic.ensurePackages("CPU", ask=True)
    assert package_calls == ["asked", ("pip", ["onnxruntime"]), ("error", package_calls[-1][1])]  # still "missing"


def test_the_gpu_without_the_pytorch_extension_downloads_nothing(scene, monkeypatch, package_calls):
    import sys

    module = load_module(monkeypatch, "DiscSegmenter")
    _pretend_missing(monkeypatch, {"torch"})
    monkeypatch.setitem(sys.modules, "PyTorchUtils", None)  # import PyTorchUtils -> ImportError
    assert module.DiscSegmenterLogic().ensurePackages("GPU", ask=True) is False
    assert not [c for c in package_calls if c == "asked" or c[0] == "pip"]
    assert "PyTorch extension" in package_calls[-1][1]


def test_the_gpu_gets_torch_through_the_pytorch_extension(scene, monkeypatch, package_calls):
    import sys

    module = load_module(monkeypatch, "DiscSegmenter")
    _pretend_missing(monkeypatch, {"torch"})
    installs = []

    class PyTorchUtilsLogic:
        def installTorch(self, askConfirmation=False, forceComputationBackend=None):
            installs.append((askConfirmation, forceComputationBackend))

    monkeypatch.setitem(sys.modules, "PyTorchUtils", types.SimpleNamespace(PyTorchUtilsLogic=PyTorchUtilsLogic))
    module.DiscSegmenterLogic().ensurePackages("GPU", ask=True)
    assert installs == [(False, None)]  # the extension picks the build for the driver
    assert not [c for c in package_calls if c[0] == "pip"]
