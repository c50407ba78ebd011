"""DiscMeasure: disc height, disc volume and canal AP diameter per lumbar level from a segmentation.

The panel is thin: the segmentation (on the source volume's grid when one is chosen) becomes a label
map, disccore.measure computes the numbers in physical space, and discmrml fills a table node, a plot
of the heights per level, and one line markup per measured line so you see what was measured.
"""

import logging
import os
import sys

import qt
import slicer
import vtk
from slicer import vtkMRMLPlotChartNode, vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode
from slicer.parameterNodeWrapper import parameterNodeWrapper
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

AUTO_UPDATE_DELAY_MS = 1500  # wait for the user to pause editing before measuring again


#
# DiscMeasure
#
class DiscMeasure(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Disc Measure"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["Lumbar Spine MRI extension contributors"]
        self.parent.helpText = """
Measures each lumbar disc level of a segmentation: disc volume, disc height (mean, median, anterior,
middle, posterior; along the local spine axis), disc height index, and the spinal canal's AP diameter
and area. Segments must be named like the Disc Segmenter names them (L4, L4-L5, canal...).
Choose the source volume to measure on its exact voxel grid. Results: a table, a plot of the heights
per level, and line markups showing each measured distance. Tick "Auto-update" to measure again after edits.
"""
        self.parent.acknowledgementText = """
Measurement definitions follow the extension's design notes (3D disc height; Hurxthal/Dabbs-style
anterior/middle/posterior heights; canal AP diameter with 10 mm / 12 mm stenosis flags).
"""


#
# Parameter node
#
@parameterNodeWrapper
class DiscMeasureParameterNode:
    segmentation: vtkMRMLSegmentationNode
    sourceVolume: vtkMRMLScalarVolumeNode
    autoUpdate: bool = False
    showLines: bool = True
    table: vtkMRMLTableNode
    chart: vtkMRMLPlotChartNode


#
# DiscMeasureWidget
#
class DiscMeasureWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._observedSegmentation = None
        self._updateTimer = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/DiscMeasure.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = DiscMeasureLogic()

        self._updateTimer = qt.QTimer()
        self._updateTimer.setSingleShot(True)
        self._updateTimer.setInterval(AUTO_UPDATE_DELAY_MS)
        self._updateTimer.connect("timeout()", self.onAutoUpdate)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.computeButton.connect("clicked(bool)", self.onComputeButton)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self._updateTimer.stop()
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        # auto-update keeps working while another module (e.g. Segment Editor) is open
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)

    def onSceneStartClose(self, caller, event) -> None:
        self._observeSegmentation(None)
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.segmentation:
            first = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLSegmentationNode")
            if first:
                self._parameterNode.segmentation = first

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
        hasSegmentation = bool(p and p.segmentation)
        self.ui.computeButton.enabled = hasSegmentation
        self.ui.computeButton.toolTip = "Measure every disc level" if hasSegmentation else "Select a segmentation"
        self.ui.exportButton.enabled = bool(p and p.table)
        if p and p.segmentation and not p.sourceVolume:
            reference = p.segmentation.GetNodeReference(p.segmentation.GetReferenceImageGeometryReferenceRole())
            if reference and reference.IsA("vtkMRMLScalarVolumeNode"):
                p.sourceVolume = reference
        self._observeSegmentation(p.segmentation if p and p.autoUpdate else None)

    def _observeSegmentation(self, segmentationNode) -> None:
        """Auto-update: watch segment changes (debounced by a single-shot timer)."""
        if segmentationNode is self._observedSegmentation:
            return
        events = (slicer.vtkSegmentation.SegmentModified, slicer.vtkSegmentation.SegmentAdded,
                  slicer.vtkSegmentation.SegmentRemoved)
        if self._observedSegmentation is not None:
            for event in events:
                self.removeObserver(self._observedSegmentation, event, self._onSegmentsChanged)
        self._observedSegmentation = segmentationNode
        if segmentationNode is not None:
            for event in events:
                self.addObserver(segmentationNode, event, self._onSegmentsChanged)

    def _onSegmentsChanged(self, caller=None, event=None) -> None:
        self._updateTimer.start()  # restarts: measures once the edits pause

    def onAutoUpdate(self) -> None:
        p = self._parameterNode
        if p and p.autoUpdate and p.segmentation:
            self.ui.statusLabel.text = "Segments changed: measuring again..."
            self._compute(showLayout=False)

    def onComputeButton(self) -> None:
        self._compute(showLayout=True)

    def _compute(self, showLayout: bool) -> None:
        p = self._parameterNode
        self.ui.statusLabel.text = "Measuring..."
        slicer.app.processEvents()
        self.ui.statusLabel.text = "Measurement failed; see the message."
        with slicer.util.tryWithErrorDisplay("Measurement failed.", waitCursor=True):
            measured = self.logic.measure(p.segmentation, p.sourceVolume, tableNode=p.table, chartNode=p.chart,
                                          showLines=p.showLines)
            p.table, p.chart = measured.table_node, measured.chart_node
            if showLayout:
                self.logic.showResults(measured)
            self.ui.statusLabel.text = measured.summary() + "."

    def onExportButton(self) -> None:
        p = self._parameterNode
        name = (p.segmentation.GetName() if p.segmentation else "discs") + "_discs.csv"
        path = qt.QFileDialog.getSaveFileName(slicer.util.mainWindow(), "Export the measurements as CSV",
                                              os.path.join(qt.QDir.homePath(), name), "CSV files (*.csv)")
        if not path:
            return
        with slicer.util.tryWithErrorDisplay("Could not export the table.", waitCursor=True):
            self.logic.exportCsv(p.table, path)  # the dialog already asked before replacing a file
            self.ui.statusLabel.text = f"Exported to {path}"


#
# DiscMeasureLogic
#
class DiscMeasureLogic(ScriptedLoadableModuleLogic):
    """Thin: calls into discmrml (usable from scripts, no GUI)."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return DiscMeasureParameterNode(super().getParameterNode())

    def measure(self, segmentationNode, sourceVolume=None, tableNode=None, chartNode=None, showLines=True, progress=None):
        """Measure a segmentation; returns discmrml.pipeline.Measurement (table, chart, lines, result)."""
        from discmrml.pipeline import measure_segmentation_node

        if segmentationNode is None:
            raise ValueError("Select a segmentation to measure.")
        measured = measure_segmentation_node(segmentationNode, sourceVolume, table_node=tableNode, chart_node=chartNode,
                                             lines=showLines, progress=progress)
        logging.info(f"DiscMeasure: {measured.summary()}")
        return measured

    @staticmethod
    def showResults(measured) -> None:
        """Table and plot in a layout with the slice views (where the lines show)."""
        from discmrml.tables import show_table_and_plot

        layoutManager = slicer.app.layoutManager()
        if layoutManager is not None:
            layoutManager.setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpPlotTableView)
        show_table_and_plot(measured.table_node, measured.chart_node)

    @staticmethod
    def exportCsv(tableNode, path, overwrite=True):
        from discmrml.tables import write_table_csv

        if tableNode is None:
            raise ValueError("Compute the measurements first.")
        return write_table_csv(tableNode, path, overwrite=overwrite)


#
# DiscMeasureTest
#
class DiscMeasureTest(ScriptedLoadableModuleTest):
    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_DiscMeasure_synthetic()

    def test_DiscMeasure_synthetic(self):
        import tempfile

        import numpy as np

        from disccore.image import Geometry, SpatialImage
        from discmrml.segmentations import labelmap_to_segmentation
        from discmrml.volumes import image_to_volume

        self.delayDisplay("Measuring a synthetic disc between two vertebrae on an oblique grid")
        c, s = np.cos(0.2), np.sin(0.2)
        direction = np.array([[0.0, -s, -c], [1.0, 0.0, 0.0], [0.0, -c, s]])  # sagittal, tilted
        g = Geometry(size=(48, 64, 11), spacing=(0.7, 0.7, 4.0), origin=(10.0, -60.0, 40.0), direction=direction)
        labels = np.zeros(g.size, np.int16)
        labels[8:40, 6:22, 1:-1] = 23
        labels[8:40, 22:28, 1:-1] = 123
        labels[8:40, 28:46, 1:-1] = 24
        labels[41:46, 10:50, 3:-3] = 201
        volume = image_to_volume(SpatialImage(np.zeros(g.size, np.float32), g), name="DiscMeasureTest")
        segmentation, _ = labelmap_to_segmentation(SpatialImage(labels, g), reference_volume=volume)

        logic = DiscMeasureLogic()
        measured = logic.measure(segmentation, volume)
        table = measured.table_node.GetTable()
        self.assertEqual(table.GetNumberOfRows(), 1)
        self.assertEqual(table.GetColumnByName("level").GetValue(0), "L4-L5")
        expectedVolume = 32 * 6 * 9 * g.voxel_volume_mm3
        self.assertAlmostEqual(table.GetColumnByName("disc_volume_mm3").GetValue(0), expectedVolume, delta=1e-6 * expectedVolume)
        self.assertEqual(measured.table_node.GetColumnUnitLabel("disc_height_mm"), "mm")
        self.assertTrue(len(measured.line_nodes) > 0)
        with tempfile.TemporaryDirectory() as folder:
            path = logic.exportCsv(measured.table_node, os.path.join(folder, "discs.csv"))
            self.assertTrue(os.path.getsize(path) > 0)
        self.delayDisplay("Test passed")
