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

from DiscSegmenterLib.TeachModelSection import TeachModelSection  # noqa: E402 (this module's folder is on the path)

#: parameters the widget syncs itself (their choices come from the model manifest at run time)
PARAMETERS_SYNCED_BY_CODE = ("model",)

POLL_INTERVAL_MS = 100  # how often the panel reads the model's progress


def requiredPackages(device: str = "auto", training: bool = False) -> dict:
    from discmrml.packages import required_packages

    return required_packages(device, training)


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
        self._teach = None  # the "Teach the model" section (DiscSegmenterLib.TeachModelSection)
        self._timer = None
        self._effectFactory = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/DiscSegmenter.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = DiscSegmenterLogic()

        self.populateModels()

        # as Slicer's Segment Editor module: the editor node first, so the selections made when the scene
        # is set are kept in it; effects that other extensions register later are added to the editor
        self._selectSegmentEditorNode()
        self.ui.segmentEditorWidget.setMRMLScene(slicer.mrmlScene)
        self._effectFactory = slicer.qSlicerSegmentEditorEffectFactory.instance()
        self._effectFactory.connect("effectRegistered(QString)", self.onEffectRegistered)

        self._timer = qt.QTimer()
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.connect("timeout()", self.onPoll)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndImportEvent, self.onSceneEndImport)
        self.ui.modelComboBox.connect("currentTextChanged(QString)", self.onModelChanged)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancelButton)
        self._teach = TeachModelSection(self)
        self.setRunning(False)
        self.initializeParameterNode()
        self._teach.refresh()

    def populateModels(self) -> None:
        """The model selector: the shipped models, then the user's adapted ones."""
        self.ui.modelComboBox.clear()
        for name, description in self.logic.availableModels():
            self.ui.modelComboBox.addItem(name)
            self.ui.modelComboBox.setItemData(self.ui.modelComboBox.count - 1, description, qt.Qt.ToolTipRole)
        if self.ui.modelComboBox.count == 0:
            self.ui.statusLabel.text = "No model is installed: reinstall the extension or set DISCCORE_MODELS_DIR."

    def cleanup(self) -> None:
        """Module reload or application exit: nothing of this widget may keep running."""
        if self._timer is not None:
            self._timer.stop()
        if self._job is not None:
            self._job.cleanup()
            self._job = None
        if self._teach is not None:
            self._teach.cancel()
        if self._effectFactory is not None:
            self._effectFactory.disconnect("effectRegistered(QString)", self.onEffectRegistered)
        self.removeObservers()

    def onEffectRegistered(self, effectName=None) -> None:
        self.ui.segmentEditorWidget.updateEffectList()

    def _selectSegmentEditorNode(self) -> None:
        node = self.logic.segmentEditorNode()
        if self.ui.segmentEditorWidget.mrmlSegmentEditorNode() != node:
            self.ui.segmentEditorWidget.setMRMLSegmentEditorNode(node)

    def enter(self) -> None:
        self._selectSegmentEditorNode()
        self.initializeParameterNode()
        self.ui.segmentEditorWidget.updateWidgetFromMRML()
        self.ui.segmentEditorWidget.installKeyboardShortcuts()

    def exit(self) -> None:
        from discmrml.panels import disconnect_gui

        self.ui.segmentEditorWidget.setActiveEffect(None)
        self.ui.segmentEditorWidget.uninstallKeyboardShortcuts()
        self.ui.segmentEditorWidget.removeViewObservations()
        if self._parameterNode:
            disconnect_gui(self._parameterNode, self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUI)

    def onSceneStartClose(self, caller, event) -> None:
        self.onCancelButton()
        self.setParameterNode(None)
        self.ui.segmentEditorWidget.setSegmentationNode(None)
        self.ui.segmentEditorWidget.removeViewObservations()

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self._selectSegmentEditorNode()
            self.initializeParameterNode()
            self.ui.segmentEditorWidget.updateWidgetFromMRML()

    def onSceneEndImport(self, caller, event) -> None:
        """A loaded scene may bring its own segment editor and parameter nodes."""
        if self.parent.isEntered:
            self._selectSegmentEditorNode()
            self.initializeParameterNode()
            self.ui.segmentEditorWidget.updateWidgetFromMRML()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputVolume:
            firstVolumeNode = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolumeNode:
                self._parameterNode.inputVolume = firstVolumeNode
        if not self._parameterNode.model and self.ui.modelComboBox.count:
            self._parameterNode.model = self.ui.modelComboBox.itemText(0)

    def setParameterNode(self, inputParameterNode) -> None:
        from discmrml.panels import connect_gui, disconnect_gui

        if self._parameterNode:
            disconnect_gui(self._parameterNode, self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            if self.hasObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUI):  # not after exit()
                self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUI)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = connect_gui(self._parameterNode, self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUI)
            self.updateGUI()

    def updateGUI(self, caller=None, event=None) -> None:
        p = self._parameterNode
        running = self._job is not None or (self._teach is not None and self._teach.running)
        ready = bool(p and p.inputVolume and self.ui.modelComboBox.count)
        self.ui.applyButton.enabled = ready and not running
        if self._teach is not None:
            self._teach.updateButtons(p, running)
        self.ui.applyButton.toolTip = (
            "Segment the input volume" if ready else "Select an input volume (and install a model)"
        )
        if p:
            index = self.ui.modelComboBox.findText(p.model)
            if index >= 0 and index != self.ui.modelComboBox.currentIndex:
                self.ui.modelComboBox.currentIndex = index
            self._updateSegmentEditor(p)
            if p.inputVolume:
                self.ui.outputSegmentationSelector.baseName = p.inputVolume.GetName() + " segmentation"

    def _updateSegmentEditor(self, p) -> None:
        """The editor follows the panel. Its source volume only once it has a segmentation:
        qMRMLSegmentEditorWidget::setSourceVolumeNode logs a critical message on every call before that."""
        editor = self.ui.segmentEditorWidget
        if editor.segmentationNode() != p.outputSegmentation:
            editor.setSegmentationNode(p.outputSegmentation)
        if not p.outputSegmentation:
            return
        if hasattr(editor, "setSourceVolumeNode"):  # Slicer >= 5.2; "master" before
            getSource, setSource = editor.sourceVolumeNode, editor.setSourceVolumeNode
        else:
            getSource, setSource = editor.masterVolumeNode, editor.setMasterVolumeNode
        if getSource() != p.inputVolume:
            setSource(p.inputVolume)

    def onModelChanged(self, text: str) -> None:
        if self._parameterNode and text and self._parameterNode.model != text:
            self._parameterNode.model = text

    def parameterNode(self):
        return self._parameterNode

    def startProgress(self, message: str) -> None:
        self.ui.progressBar.value = 0
        self.ui.statusLabel.text = message

    def setRunning(self, running: bool) -> None:
        """Buttons and progress bar for a running model process; the timer polls it."""
        if running:
            self._timer.start()
        self.ui.applyButton.enabled = not running
        self.ui.cancelButton.enabled = running
        self.ui.progressBar.visible = running
        self.ui.inputsCollapsibleButton.enabled = not running
        self.ui.adaptCollapsibleButton.enabled = not running
        if not running:
            self.updateGUI()

    def onProgress(self, fraction: float, message: str) -> None:
        self.ui.progressBar.value = int(round(100 * fraction))
        self.ui.progressBar.format = f"%p%  {message}" if message else "%p%"

    def onApplyButton(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay("Could not start the segmentation.", waitCursor=False):
            if not self.logic.ensurePackages(p.device, ask=True):
                self.ui.statusLabel.text = "Python packages the model needs are missing; segmentation not started."
                return
            if not p.outputSegmentation:
                p.outputSegmentation = slicer.mrmlScene.AddNewNodeByClass(
                    "vtkMRMLSegmentationNode",
                    slicer.mrmlScene.GenerateUniqueName(p.inputVolume.GetName() + " segmentation"),
                )
            self.startProgress("Segmenting...")
            self._job = self.logic.startSegmentation(p.inputVolume, p.model, p.device, progress=self.onProgress)
            self.setRunning(True)

    def onPoll(self) -> None:
        from discmrml.panels import status_with_warning

        if self._teach.poll():
            return
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
                done = f"Done in {job.seconds:.1f} s: {update.summary()}."
                self.ui.statusLabel.text = status_with_warning(done, update.review_warning())
        finally:
            self.setRunning(False)

    def onCancelButton(self) -> None:
        if self._teach.cancel():
            return
        if self._job is None:
            return
        self._timer.stop()
        job, self._job = self._job, None
        job.cancel()
        job.cleanup()
        self.ui.statusLabel.text = "Cancelled; the segmentation was left as it was."
        self.setRunning(False)


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
    def missingPackages(device: str = "auto", training: bool = False):
        from discmrml.packages import missing_packages

        return missing_packages(device, training)

    def ensurePackages(self, device: str = "auto", ask: bool = True, training: bool = False) -> bool:
        """Install what segmenting on ``device`` (or ``training``) needs, after asking (discmrml.packages)."""
        from discmrml.packages import ensure_packages

        confirm = (
            (lambda question: slicer.util.confirmOkCancelDisplay(question, "Install Python packages")) if ask else None
        )
        return ensure_packages(
            device, training, confirm=confirm, show_error=slicer.util.errorDisplay, busy=slicer.util.WaitCursor
        )

    def startSegmentation(self, inputVolume, model=None, device="auto", progress=None, python=None):
        """Start the model out of process; returns a discmrml.runner.SegmentationJob to poll/cancel/finish."""
        from discmrml.runner import SegmentationJob

        job = SegmentationJob(inputVolume, model=model or None, device=device, python=python, progress=progress)
        return job.start()

    def segment(
        self, inputVolume, outputSegmentation=None, model=None, device="auto", replace=False, progress=None, python=None
    ):
        """Blocking segmentation (scripts, self-test); returns (segmentation node, SegmentUpdate)."""
        from discmrml.pipeline import segment_volume

        start = time.time()
        node, update = segment_volume(
            inputVolume,
            outputSegmentation,
            model=model or None,
            device=device,
            replace=replace,
            progress=progress,
            python=python,
        )
        logging.info(f"DiscSegmenter: {update.summary()} in {time.time() - start:.1f} s")
        return node, update

    @staticmethod
    def trainingCases():
        """(the user cases folder, the names of the cases in it)."""
        from discmrml.training_cases import list_training_cases

        return list_training_cases()

    def addTrainingCase(self, volume, segmentation, name=None):
        """Save the volume and its (corrected) segmentation as a training case; returns the image path."""
        from discmrml.training_cases import save_training_case

        return save_training_case(volume, segmentation, name=name)

    def removeTrainingCase(self, name):
        from discmrml.training_cases import remove_training_case

        return remove_training_case(name)

    def startAdaptation(self, name, parent=None, progress=None, python=None):
        """'disccore adapt' on the training cases, out of process, into the user models folder as ``name``."""
        from discmrml.training_cases import start_user_adaptation

        return start_user_adaptation(name, parent=parent or None, progress=progress, python=python)

    def importLabelmap(self, labels, labelNames=None, outputSegmentation=None, referenceVolume=None, replace=False):
        """Put a disccore label map into a segmentation node (names, colours, terminology; keeps edits)."""
        from discmrml.segmentations import labelmap_to_segmentation

        return labelmap_to_segmentation(labels, labelNames, outputSegmentation, referenceVolume, replace)


#
# DiscSegmenterTest
#
class DiscSegmenterTest(ScriptedLoadableModuleTest):
    """Import keeps edits; the model on the bundled sample finds its structures (discmrml.selftest)."""

    #: the model names no sacrum: the top of S1 is dropped (models/MODEL_CARD.md, disccore.segment.levels)
    NOT_SEGMENTED_BY_THE_MODEL = ("S1",)

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_DiscSegmenter_import_keeps_edits()
        self.setUp()
        self.test_DiscSegmenter_model()

    def test_DiscSegmenter_import_keeps_edits(self):
        from discmrml import selftest

        self.delayDisplay("Label map -> segmentation; a re-run keeps an edited segment")
        case = selftest.synthetic_case("DiscSegmenterTest")
        logic = DiscSegmenterLogic()
        node, update = logic.importLabelmap(case.labels, referenceVolume=case.volume)
        self.assertEqual(sorted(update.added), case.structure_names)
        segmentation = node.GetSegmentation()
        userSegment = segmentation.AddEmptySegment("", "my annotation", (1.0, 0.0, 0.0))
        self.assertTrue(userSegment)
        self.assertGreater(selftest.erase_part_of_segment(node, "L4-L5", fraction=0.5), 0)
        node, update = logic.importLabelmap(case.labels, outputSegmentation=node, referenceVolume=case.volume)
        self.assertEqual(sorted(update.kept), ["L4-L5", "my annotation"])
        self.assertEqual(sorted(update.added), ["L4", "L5", "canal"])
        self.assertEqual(update.skipped, ["L4-L5"])  # the edited disc is not overwritten
        self.assertEqual(segmentation.GetNumberOfSegments(), 5)
        self.delayDisplay("Test passed")

    def test_DiscSegmenter_model(self):
        from discmrml import selftest
        from discmrml.pipeline import measure_segmentation_node

        logic = DiscSegmenterLogic()
        if not logic.availableModels() or logic.missingPackages("CPU"):
            self.delayDisplay("No model or packages installed: model test skipped")
            return
        case = selftest.load_sample() or selftest.synthetic_case("DiscSegmenterTest")
        self.delayDisplay(f"Running the model out of process on {case.volume.GetName()} (CPU)")
        node, update = logic.segment(case.volume, device="CPU")
        segmentation = node.GetSegmentation()
        names = {segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())}
        expected = set(case.structure_names) - set(self.NOT_SEGMENTED_BY_THE_MODEL)
        missing = sorted(expected - names)
        self.assertFalse(missing, f"the model did not find {missing} in {case.volume.GetName()}")
        measured = measure_segmentation_node(node, case.volume, lines=False)
        levels = [row["level"] for row in measured.result.discs]
        self.assertEqual([level for level in levels if level in case.disc_levels], case.disc_levels)
        self.delayDisplay(f"Test passed: {update.summary()}")
