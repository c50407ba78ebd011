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


def segmentationEditEvents():
    """The vtkSegmentation events after which the measurements are out of date.

    Paint, Erase and the other effects change a segment's labelmap, which fires only
    SourceRepresentationModified (MasterRepresentationModified before Slicer 5.4): vtkSegmentation.h says
    SegmentModified is not invoked when the content of a representation changes.
    """
    events = slicer.vtkSegmentation
    source = getattr(events, "SourceRepresentationModified", None)
    if source is None:
        source = events.MasterRepresentationModified
    return (source, events.SegmentAdded, events.SegmentRemoved, events.SegmentModified)


def autoUpdateFailureText(exc) -> str:
    """One line for the panel when a re-measure during editing fails (the log has the details)."""
    lines = str(exc).strip().splitlines()
    return "Auto-update could not measure: " + (lines[0] if lines else type(exc).__name__) + " (details in the log)"


class SegmentationEditWatcher(VTKObservationMixin):
    """Calls ``onEdited()`` after every edit of one segmentation node (the widget debounces with a timer)."""

    def __init__(self, onEdited) -> None:
        VTKObservationMixin.__init__(self)
        self.onEdited = onEdited
        self.node = None

    def watch(self, segmentationNode) -> None:
        if segmentationNode is self.node:
            return
        self.removeObservers()
        self.node = segmentationNode
        if segmentationNode is not None:
            for event in segmentationEditEvents():
                self.addObserver(segmentationNode, event, self._onEdited)

    def _onEdited(self, caller=None, event=None) -> None:
        self.onEdited()


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
Measurement definitions: docs/measurements.md of the extension (3D disc height; Hurxthal/Dabbs-style
anterior/middle/posterior heights; dural sac AP diameter and area graded with the published sac cut-offs:
AP < 10 mm, area < 100 / 75 mm2).
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
        self._updateTimer = None
        self._colourTimer = None
        self._editWatcher = SegmentationEditWatcher(self._onSegmentsChanged)

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
        self._colourTimer = qt.QTimer()  # paints the cells once the table views have taken the new rows
        self._colourTimer.setSingleShot(True)
        self._colourTimer.setInterval(0)
        self._colourTimer.connect("timeout()", self._colourStenosisCells)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.computeButton.connect("clicked(bool)", self.onComputeButton)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self._updateTimer.stop()
        self._colourTimer.stop()
        self._editWatcher.watch(None)
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        # auto-update keeps working while another module (e.g. Segment Editor) is open
        from discmrml.panels import disconnect_gui

        if self._parameterNode:
            disconnect_gui(self._parameterNode, self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)

    def onSceneStartClose(self, caller, event) -> None:
        self._updateTimer.stop()
        self._editWatcher.watch(None)
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
        from discmrml.panels import connect_gui, disconnect_gui

        if self._parameterNode:
            disconnect_gui(self._parameterNode, self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            if self.hasObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI):  # not after exit()
                self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = connect_gui(self._parameterNode, self.ui)
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
        self._editWatcher.watch(p.segmentation if p and p.autoUpdate else None)

    def _onSegmentsChanged(self) -> None:
        self._updateTimer.start()  # restarts: measures once the edits pause

    def onAutoUpdate(self) -> None:
        """Re-measure after edits; a failure is logged and shown in one line, never a dialog per brush stroke."""
        p = self._parameterNode
        if not (p and p.autoUpdate and p.segmentation):
            return
        self.ui.statusLabel.text = "Segments changed: measuring again..."
        try:
            self._measure(showLayout=False)
        except Exception as exc:
            logging.exception("DiscMeasure: auto-update failed")
            self.ui.statusLabel.text = autoUpdateFailureText(exc)

    def onComputeButton(self) -> None:
        self.ui.statusLabel.text = "Measuring..."
        slicer.app.processEvents()
        self.ui.statusLabel.text = "Measurement failed; see the message."
        with slicer.util.tryWithErrorDisplay("Measurement failed.", waitCursor=True):
            self._measure(showLayout=True)

    def _measure(self, showLayout: bool) -> None:
        from discmrml.panels import status_with_warning

        p = self._parameterNode
        measured = self.logic.measure(
            p.segmentation, p.sourceVolume, tableNode=p.table, chartNode=p.chart, showLines=p.showLines
        )
        p.table, p.chart = measured.table_node, measured.chart_node
        if showLayout:
            self.logic.showResults(measured)
        self._colourTimer.start()
        self.ui.statusLabel.text = status_with_warning(measured.summary() + ".", measured.review_warning())

    def _colourStenosisCells(self) -> None:
        """The stenosis grades' colours on the table's cells in the layout's table views (MRML keeps no cell colours;
        every cell is painted or cleared, so a re-measured table keeps no stale colour)."""
        from discmrml.tables import stenosis_cell_colours

        tableNode = self._parameterNode.table if self._parameterNode else None
        layoutManager = slicer.app.layoutManager()
        if tableNode is None or layoutManager is None:
            return
        colours = stenosis_cell_colours(tableNode)
        for i in range(layoutManager.tableViewCount):
            view = layoutManager.tableWidget(i).tableView()
            shown = view.mrmlTableNode()
            if shown is None or shown.GetID() != tableNode.GetID():
                continue
            model = view.tableModel()
            for row in range(model.rowCount()):
                for column in range(model.columnCount()):
                    index = model.index(row, column)
                    colour = colours.get((model.mrmlTableRowIndex(index), model.mrmlTableColumnIndex(index)))
                    model.itemFromIndex(index).setBackground(qt.QBrush(qt.QColor(colour)) if colour else qt.QBrush())

    def onExportButton(self) -> None:
        p = self._parameterNode
        name = (p.segmentation.GetName() if p.segmentation else "discs") + "_discs.csv"
        path = qt.QFileDialog.getSaveFileName(
            slicer.util.mainWindow(),
            "Export the measurements as CSV",
            os.path.join(qt.QDir.homePath(), name),
            "CSV files (*.csv)",
        )
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

    def measure(
        self, segmentationNode, sourceVolume=None, tableNode=None, chartNode=None, showLines=True, progress=None
    ):
        """Measure a segmentation; returns discmrml.pipeline.Measurement (table, chart, lines, result).

        Without ``showLines`` the lines of an earlier run are removed, so the views show none.
        """
        from discmrml.lines import lines_folder_name, remove_lines
        from discmrml.pipeline import measure_segmentation_node

        if segmentationNode is None:
            raise ValueError("Select a segmentation to measure.")
        measured = measure_segmentation_node(
            segmentationNode,
            sourceVolume,
            table_node=tableNode,
            chart_node=chartNode,
            lines=showLines,
            progress=progress,
        )
        if not showLines:
            remove_lines(lines_folder_name(segmentationNode.GetName()), scene=segmentationNode.GetScene())
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
    """Measure, edit as a brush does, see the re-measure scheduled and the table change, export (discmrml.selftest)."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_DiscMeasure_oblique_volume()
        self.setUp()
        self.test_DiscMeasure_edit_and_measure_again()

    def _segmentation(self, case):
        from discmrml.segmentations import labelmap_to_segmentation

        node, _ = labelmap_to_segmentation(case.labels, case.names, reference_volume=case.volume)
        segmentation = node.GetSegmentation()
        names = [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())]
        self.assertEqual(sorted(names), case.structure_names)
        return node

    def _column(self, tableNode, name):
        table = tableNode.GetTable()
        column = table.GetColumnByName(name)
        self.assertIsNotNone(column, f"the table has no column {name}")
        return [column.GetValue(row) for row in range(table.GetNumberOfRows())]

    def test_DiscMeasure_oblique_volume(self):
        from discmrml import selftest

        self.delayDisplay("Measuring a synthetic disc between two vertebrae on an oblique grid")
        case = selftest.synthetic_case("DiscMeasureTest", tilt=0.2)
        measured = DiscMeasureLogic().measure(self._segmentation(case), case.volume)
        self.assertEqual(self._column(measured.table_node, "level"), ["L4-L5"])
        expectedVolume = 32 * 6 * 9 * case.labels.geometry.voxel_volume_mm3
        self.assertAlmostEqual(
            self._column(measured.table_node, "disc_volume_mm3")[0], expectedVolume, delta=1e-6 * expectedVolume
        )
        self.assertEqual(measured.table_node.GetColumnUnitLabel("disc_height_mm"), "mm")
        self.assertTrue(measured.table_node.GetUseColumnTitleAsColumnHeader())
        self.assertGreater(len(measured.line_nodes), 0)
        self.delayDisplay("Test passed")

    def test_DiscMeasure_edit_and_measure_again(self):
        import math
        import tempfile

        from discmrml import selftest

        case = selftest.load_sample() or selftest.synthetic_case("DiscMeasureTest")
        self.delayDisplay(f"Measuring {case.volume.GetName()}: one table row per disc level")
        node = self._segmentation(case)
        logic = DiscMeasureLogic()
        measured = logic.measure(node, case.volume)
        self.assertEqual(self._column(measured.table_node, "level"), case.disc_levels)
        before = self._column(measured.table_node, "disc_volume_mm3")
        self.assertTrue(all(v > 0 for v in before))
        self.assertTrue(all(math.isfinite(h) and h > 0 for h in self._column(measured.table_node, "disc_height_mm")))
        self.assertGreaterEqual(len(measured.line_nodes), len(case.disc_levels))

        self.delayDisplay("Erasing part of a disc twice: each stroke schedules a re-measure")
        scheduled = []
        watcher = SegmentationEditWatcher(lambda: scheduled.append(True))
        watcher.watch(node)
        edited = case.disc_levels[len(case.disc_levels) // 2]
        for stroke in range(2):  # after the first stroke only SourceRepresentationModified comes
            count = len(scheduled)
            self.assertGreater(selftest.erase_part_of_segment(node, edited, fraction=0.25), 0)
            self.assertGreater(len(scheduled), count, f"stroke {stroke + 1} scheduled no re-measure")
        count = len(scheduled)
        measured = logic.measure(
            node, case.volume, tableNode=measured.table_node, chartNode=measured.chart_node, showLines=False
        )
        self.assertEqual(len(scheduled), count, "measuring must not look like an edit (it would loop)")
        watcher.watch(None)
        after = self._column(measured.table_node, "disc_volume_mm3")
        row = case.disc_levels.index(edited)
        self.assertLess(after[row], before[row])
        self.assertEqual(after[:row] + after[row + 1 :], before[:row] + before[row + 1 :])
        self.assertEqual(
            slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLMarkupsLineNode"),
            0,
            "lines switched off: the earlier run's lines must go",
        )

        with tempfile.TemporaryDirectory() as folder:
            path = logic.exportCsv(measured.table_node, os.path.join(folder, "discs.csv"))
            with open(path) as f:
                lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("level,"))
        self.assertEqual([line.split(",")[0] for line in lines[1:]], case.disc_levels)
        self.delayDisplay("Test passed")
