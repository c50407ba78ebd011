"""DiscSegmenter: segment lumbar vertebral bodies, intervertebral discs and the spinal canal in MRI.

The panel is thin: the model runs out of process (``PythonSlicer -m disccore segment``, see
discmrml.runner) so Slicer stays responsive and Cancel stops it at once; the result goes into a
segmentation node with the anatomy scheme's names, colours and terminology (discmrml.segmentations),
keeping segments you edited unless you ask to replace them; the Segment Editor below is for corrections.
"""

import logging
import os
import sys
import time
from typing import Annotated

import qt
import slicer
import vtk
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin


def _ensureDiscCoreImportable():
    """disccore/discmrml sit next to the modules when installed; in a source tree they are in ../DiscCore."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "DiscCore")
    if os.path.isdir(os.path.join(source, "discmrml")) and os.path.abspath(source) not in sys.path:
        sys.path.insert(0, os.path.abspath(source))


_ensureDiscCoreImportable()

#: parameters the widget syncs itself (their choices come from the model manifest at run time)
PARAMETERS_SYNCED_BY_CODE = ("model",)

#: Python packages running the model needs (import name -> pip name); torch comes through the PyTorch
#: extension. MONAI is needed only to train (inference builds the same network from plain torch).
REQUIRED_PACKAGES = {"scipy": "scipy", "SimpleITK": "SimpleITK", "torch": "torch"}


#
# DiscSegmenter
#
class DiscSegmenter(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Disc Segmenter"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["Lumbar Spine MRI extension contributors"]
        self.parent.helpText = """
Segments the lumbar vertebral bodies, intervertebral discs and the spinal canal in a sagittal MRI volume.
Choose the input volume, the model and the device, then Apply. The model runs in a separate process
(Cancel stops it). Correct the result with the Segment Editor below; running again keeps the segments
you edited unless you tick "Replace my edited segments". Measure with the Disc Measure module.
"""
        self.parent.acknowledgementText = """
Segments use SNOMED CT terminology. The model and its validation are described in the extension's model card.
"""


#
# Parameter node
#
@parameterNodeWrapper
class DiscSegmenterParameterNode:
    inputVolume: vtkMRMLScalarVolumeNode
    outputSegmentation: vtkMRMLSegmentationNode
    model: str = ""
    device: Annotated[str, Choice(["auto", "CPU", "GPU"])] = "auto"
    replaceEdited: bool = False


#
# DiscSegmenterWidget
#
class DiscSegmenterWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._job = None
        self._timer = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/DiscSegmenter.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = DiscSegmenterLogic()

        for name, description in self.logic.availableModels():
            self.ui.modelComboBox.addItem(name)
            self.ui.modelComboBox.setItemData(self.ui.modelComboBox.count - 1, description, qt.Qt.ToolTipRole)
        if self.ui.modelComboBox.count == 0:
            self.ui.statusLabel.text = "No model is installed: reinstall the extension or set DISCCORE_MODELS_DIR."

        self.ui.segmentEditorWidget.setMRMLScene(slicer.mrmlScene)
        self.ui.segmentEditorWidget.setMRMLSegmentEditorNode(self.logic.segmentEditorNode())

        self._timer = qt.QTimer()
        self._timer.setInterval(100)
        self._timer.connect("timeout()", self.onPoll)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.modelComboBox.connect("currentTextChanged(QString)", self.onModelChanged)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancelButton)
        self._setRunning(False)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        if self._job is not None:
            self._job.cleanup()
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()
        self.ui.segmentEditorWidget.installKeyboardShortcuts()

    def exit(self) -> None:
        self.ui.segmentEditorWidget.setActiveEffect(None)
        self.ui.segmentEditorWidget.uninstallKeyboardShortcuts()
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)

    def onSceneStartClose(self, caller, event) -> None:
        self.onCancelButton()
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputVolume:
            firstVolumeNode = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolumeNode:
                self._parameterNode.inputVolume = firstVolumeNode
        if not self._parameterNode.model and self.ui.modelComboBox.count:
            self._parameterNode.model = self.ui.modelComboBox.itemText(0)

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)
            self._updateGUI()

    def _updateGUI(self, caller=None, event=None) -> None:
        p = self._parameterNode
        running = self._job is not None
        ready = bool(p and p.inputVolume and self.ui.modelComboBox.count)
        self.ui.applyButton.enabled = ready and not running
        self.ui.applyButton.toolTip = "Segment the input volume" if ready else "Select an input volume (and install a model)"
        if p:
            index = self.ui.modelComboBox.findText(p.model)
            if index >= 0 and index != self.ui.modelComboBox.currentIndex:
                self.ui.modelComboBox.currentIndex = index
            self.ui.segmentEditorWidget.setSegmentationNode(p.outputSegmentation)
            editor = self.ui.segmentEditorWidget
            (editor.setSourceVolumeNode if hasattr(editor, "setSourceVolumeNode") else editor.setMasterVolumeNode)(p.inputVolume)
            if p.inputVolume:
                self.ui.outputSegmentationSelector.baseName = p.inputVolume.GetName() + " segmentation"

    def onModelChanged(self, text: str) -> None:
        if self._parameterNode and text and self._parameterNode.model != text:
            self._parameterNode.model = text

    def _setRunning(self, running: bool) -> None:
        self.ui.applyButton.enabled = not running
        self.ui.cancelButton.enabled = running
        self.ui.progressBar.visible = running
        self.ui.inputsCollapsibleButton.enabled = not running
        if not running:
            self._updateGUI()

    def _onProgress(self, fraction: float, message: str) -> None:
        self.ui.progressBar.value = int(round(100 * fraction))
        self.ui.progressBar.format = f"%p%  {message}" if message else "%p%"

    def onApplyButton(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay("Could not start the segmentation.", waitCursor=False):
            if not self.logic.ensurePackages(ask=True):
                self.ui.statusLabel.text = "Python packages the model needs are missing; segmentation not started."
                return
            if not p.outputSegmentation:
                p.outputSegmentation = slicer.mrmlScene.AddNewNodeByClass(
                    "vtkMRMLSegmentationNode", slicer.mrmlScene.GenerateUniqueName(p.inputVolume.GetName() + " segmentation"))
            self.ui.progressBar.value = 0
            self.ui.statusLabel.text = "Segmenting..."
            self._job = self.logic.startSegmentation(p.inputVolume, p.model, p.device, progress=self._onProgress)
            self._setRunning(True)
            self._timer.start()

    def onPoll(self) -> None:
        if self._job is None or self._job.poll() is None:
            return
        self._timer.stop()
        job, self._job = self._job, None
        p = self._parameterNode
        self.ui.statusLabel.text = "Segmentation failed; see the message."
        try:
            with slicer.util.tryWithErrorDisplay("Segmentation failed.", waitCursor=True):
                node, update = job.finish(p.outputSegmentation, replace=p.replaceEdited)
                node.CreateClosedSurfaceRepresentation()
                slicer.util.setSliceViewerLayers(background=p.inputVolume)
                self.ui.statusLabel.text = f"Done in {job.seconds:.1f} s: {update.summary()}."
        finally:
            self._setRunning(False)

    def onCancelButton(self) -> None:
        if self._job is None:
            return
        self._timer.stop()
        job, self._job = self._job, None
        job.cancel()
        job.cleanup()
        self.ui.statusLabel.text = "Cancelled; the segmentation was left as it was."
        self._setRunning(False)


#
# DiscSegmenterLogic
#
class DiscSegmenterLogic(ScriptedLoadableModuleLogic):
    """Thin: model listing, package checks, and calls into discmrml (usable from scripts, no GUI)."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return DiscSegmenterParameterNode(super().getParameterNode())

    @staticmethod
    def availableModels():
        """[(name, description)] from the model manifest, newest first; [] when none is installed."""
        try:
            from disccore.models import list_models

            return [(m.name, f"{m.name} {m.version}: {m.description}") for m in list_models()]
        except Exception as exc:  # no manifest, or the core is damaged: the panel says so
            logging.warning(f"DiscSegmenter: no models found: {exc}")
            return []

    @staticmethod
    def segmentEditorNode():
        node = slicer.mrmlScene.GetSingletonNode("DiscSegmenter", "vtkMRMLSegmentEditorNode")
        if node is None:
            node = slicer.mrmlScene.CreateNodeByClass("vtkMRMLSegmentEditorNode")
            node.UnRegister(None)
            node.SetSingletonTag("DiscSegmenter")
            node = slicer.mrmlScene.AddNode(node)
        return node

    @staticmethod
    def missingPackages():
        import importlib.util

        return [name for name in REQUIRED_PACKAGES if importlib.util.find_spec(name) is None]

    def ensurePackages(self, ask: bool = True) -> bool:
        """Install missing packages after asking (torch through the PyTorch extension when present)."""
        missing = self.missingPackages()
        if not missing:
            return True
        if ask and not slicer.util.confirmOkCancelDisplay(
            "The disc segmentation model needs these Python packages, which are not installed yet:\n"
            + ", ".join(missing) + "\n\nInstall them now? This downloads them and may take several minutes.",
            "Install Python packages",
        ):
            return False
        with slicer.util.WaitCursor():
            if "torch" in missing:
                self._installTorch()
            others = [REQUIRED_PACKAGES[name] for name in missing if name != "torch"]
            if others:
                slicer.util.pip_install(others)
        still = self.missingPackages()
        if still:
            slicer.util.errorDisplay("These packages could not be installed: " + ", ".join(still))
        return not still

    @staticmethod
    def _installTorch() -> None:
        try:
            import PyTorchUtils  # from the PyTorch extension: picks the right CUDA/CPU build
        except ImportError:
            slicer.util.pip_install("torch")
            return
        torchLogic = PyTorchUtils.PyTorchUtilsLogic()
        if not torchLogic.torchInstalled():
            torchLogic.installTorch(askConfirmation=False)

    def startSegmentation(self, inputVolume, model=None, device="auto", progress=None, python=None):
        """Start the model out of process; returns a discmrml.runner.SegmentationJob to poll/cancel/finish."""
        from discmrml.runner import SegmentationJob

        return SegmentationJob(inputVolume, model=model or None, device=device, python=python, progress=progress).start()

    def segment(self, inputVolume, outputSegmentation=None, model=None, device="auto", replace=False, progress=None,
                python=None):
        """Blocking segmentation (scripts, self-test); returns (segmentation node, SegmentUpdate)."""
        from discmrml.pipeline import segment_volume

        start = time.time()
        node, update = segment_volume(inputVolume, outputSegmentation, model=model or None, device=device,
                                      replace=replace, progress=progress, python=python)
        logging.info(f"DiscSegmenter: {update.summary()} in {time.time() - start:.1f} s")
        return node, update

    def importLabelmap(self, labels, labelNames=None, outputSegmentation=None, referenceVolume=None, replace=False):
        """Put a disccore label map into a segmentation node (names, colours, terminology; keeps edits)."""
        from discmrml.segmentations import labelmap_to_segmentation

        return labelmap_to_segmentation(labels, labelNames, outputSegmentation, referenceVolume, replace)


#
# DiscSegmenterTest
#
class DiscSegmenterTest(ScriptedLoadableModuleTest):
    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_DiscSegmenter_import_keeps_edits()
        self.setUp()
        self.test_DiscSegmenter_model()

    @staticmethod
    def _syntheticCase():
        import numpy as np

        from disccore.image import Geometry, SpatialImage
        from discmrml.volumes import image_to_volume

        direction = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # a sagittal series
        g = Geometry(size=(48, 64, 11), spacing=(0.7, 0.7, 4.0), origin=(10.0, -60.0, 40.0), direction=direction)
        labels = np.zeros(g.size, np.int16)
        labels[8:40, 6:22, 1:-1] = 23
        labels[8:40, 22:28, 1:-1] = 123
        labels[8:40, 28:46, 1:-1] = 24
        labels[41:46, 10:50, 3:-3] = 201
        image = np.where(labels == 123, 900.0, np.where(labels == 201, 1200.0, np.where(labels > 0, 400.0, 50.0)))
        volume = image_to_volume(SpatialImage(image.astype(np.float32), g), name="DiscSegmenterTest")
        return volume, SpatialImage(labels, g)

    def test_DiscSegmenter_import_keeps_edits(self):
        self.delayDisplay("Label map -> segmentation; a re-run keeps an edited segment")
        volume, labels = self._syntheticCase()
        logic = DiscSegmenterLogic()
        node, update = logic.importLabelmap(labels, referenceVolume=volume)
        self.assertEqual(sorted(update.added), ["L4", "L4-L5", "L5", "canal"])
        segmentation = node.GetSegmentation()
        userSegment = segmentation.AddEmptySegment("", "my annotation", (1.0, 0.0, 0.0))
        self.assertTrue(userSegment)
        node, update = logic.importLabelmap(labels, outputSegmentation=node, referenceVolume=volume)
        self.assertIn("my annotation", update.kept)
        self.assertEqual(segmentation.GetNumberOfSegments(), 5)
        self.delayDisplay("Test passed")

    def test_DiscSegmenter_model(self):
        logic = DiscSegmenterLogic()
        if not logic.availableModels() or logic.missingPackages():
            self.delayDisplay("No model or packages installed: model test skipped")
            return
        self.delayDisplay("Running the model out of process on a synthetic volume")
        volume, _ = self._syntheticCase()
        node, update = logic.segment(volume, device="cpu")
        self.assertTrue(node.GetSegmentation().GetNumberOfSegments() >= 0)
        self.delayDisplay(f"Test passed: {update.summary()}")
