"""Measured lines -> markups line nodes, one per line, named by level, in one subject hierarchy folder.

Each :class:`disccore.measure.MeasuredLine` (``level``, ``measurement``, ``value_mm``, ``start_ras``,
``end_ras``; RAS mm) becomes a locked vtkMRMLMarkupsLineNode whose two control points are exactly
the endpoints, so the user sees what was measured in the slice and 3D views. Disc heights take the
disc's colour, canal diameters the canal's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from disccore import anatomy
from disccore.errors import LabelError

from .headless import get_scene

FOLDER_ATTRIBUTE = "DiscMRML.LinesFolder"

_SHORT = {
    "disc_height_mm": "height",
    "disc_height_median_mm": "height (median)",
    "disc_height_anterior_mm": "height anterior",
    "disc_height_middle_mm": "height middle",
    "disc_height_posterior_mm": "height posterior",
    "canal_ap_diameter_mm": "canal AP",
}


def line_name(level: str, measurement: str) -> str:
    """'L4-L5 height middle', 'L4-L5 canal AP' ..."""
    short = _SHORT.get(measurement) or measurement.removesuffix("_mm").replace("_", " ")
    return f"{level} {short}"


def _get(line, key):
    return line[key] if isinstance(line, dict) else getattr(line, key)


def _colour(level: str, measurement: str):
    if "canal" in measurement:
        return anatomy.canal().color
    try:
        return anatomy.by_name(level).color
    except LabelError:
        return (1.0, 1.0, 0.0)


def lines_folder_name(segmentation_name: str) -> str:
    """The subject hierarchy folder that holds a segmentation's measured lines."""
    return f"{segmentation_name} measurement lines"


def _find_folder(sh, name: str) -> Optional[int]:
    import vtk

    ids = vtk.vtkIdList()
    sh.GetItemChildren(sh.GetSceneItemID(), ids, False)
    for i in range(ids.GetNumberOfIds()):
        item = ids.GetId(i)
        if sh.GetItemAttribute(item, FOLDER_ATTRIBUTE) == "1" and sh.GetItemName(item) == name:
            return item
    return None


def _remove_children(sh, folder: int) -> int:
    import vtk

    ids = vtk.vtkIdList()
    sh.GetItemChildren(folder, ids, False)
    children = [ids.GetId(i) for i in range(ids.GetNumberOfIds())]
    for child in children:
        node = sh.GetItemDataNode(child)
        sh.RemoveItem(child, False, False)  # the item first: works with or without SH plugins
        remove_node_and_display(node.GetScene() if node is not None else None, node)
    return len(children)


def _folder(sh, name: str, replace: bool) -> int:
    item = _find_folder(sh, name)
    if item is not None:
        if replace:
            _remove_children(sh, item)
        return item
    item = sh.CreateFolderItem(sh.GetSceneItemID(), name)
    sh.SetItemAttribute(item, FOLDER_ATTRIBUTE, "1")
    return item


def remove_lines(folder_name: str, scene=None) -> int:
    """Delete an earlier run's lines and their folder (e.g. when lines are switched off); returns how many."""
    scene = scene or get_scene()
    sh = scene.GetSubjectHierarchyNode()
    folder = _find_folder(sh, folder_name) if sh is not None else None
    if folder is None:
        return 0
    removed = _remove_children(sh, folder)
    sh.RemoveItem(folder, False, False)
    return removed


def show_lines(
    lines: Sequence,
    folder_name: str = "Disc measurement lines",
    parent_transform_node=None,
    replace: bool = True,
    scene=None,
):
    """Create one line markup per measured line inside one subject hierarchy folder.

    ``replace=True`` first deletes the lines of an earlier run in the folder of the same name.
    ``parent_transform_node``: the source volume's parent transform, so lines show where the volume does.
    Returns ``(folder item id, [line nodes])``.
    """
    import slicer

    scene = scene or get_scene()
    sh = scene.GetSubjectHierarchyNode() or slicer.vtkMRMLSubjectHierarchyNode.ResolveSubjectHierarchy(scene)
    folder = _folder(sh, folder_name, replace)
    nodes = []
    for line in lines:
        level, measurement = str(_get(line, "level")), str(_get(line, "measurement"))
        start, end = [float(x) for x in _get(line, "start_ras")], [float(x) for x in _get(line, "end_ras")]
        value = _get(line, "value_mm")
        node = scene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", line_name(level, measurement))
        node.CreateDefaultDisplayNodes()
        node.AddControlPoint(start[0], start[1], start[2], f"{level}")
        node.AddControlPoint(end[0], end[1], end[2], "")
        node.SetNthControlPointLabel(1, "")
        node.SetLocked(True)
        node.SetAttribute("DiscMRML.Level", level)
        node.SetAttribute("DiscMRML.Measurement", measurement)
        if value is not None:
            node.SetDescription(f"{measurement} = {float(value):.2f} mm")
        display = node.GetDisplayNode()
        if display is not None:
            color = _colour(level, measurement)
            display.SetSelectedColor(*color)
            display.SetColor(*color)
            display.SetPropertiesLabelVisibility(False)
            display.SetPointLabelsVisibility(False)
        if parent_transform_node is not None:
            node.SetAndObserveTransformNodeID(parent_transform_node.GetID())
        item = sh.GetItemByDataNode(node)
        if item:  # Slicer's subject hierarchy plugins made an item when the node was added
            sh.SetItemParent(item, folder)
        else:  # no plugin logic (slicer-core): make the item ourselves
            sh.CreateItem(folder, node)
        nodes.append(node)
    return folder, nodes


def _child_nodes(sh, item) -> list:
    import vtk

    ids = vtk.vtkIdList()
    sh.GetItemChildren(item, ids, False)
    nodes = [sh.GetItemDataNode(ids.GetId(i)) for i in range(ids.GetNumberOfIds())]
    return [n for n in nodes if n is not None]


def remove_node_and_display(scene, node) -> None:
    """Remove a displayable node with its display nodes (slicer-core does not do the latter)."""
    if scene is None or node is None:
        return
    count = node.GetNumberOfDisplayNodes() if hasattr(node, "GetNumberOfDisplayNodes") else 0
    displays = [node.GetNthDisplayNode(i) for i in range(count)]
    scene.RemoveNode(node)
    for display in displays:
        if display is not None and display.GetScene() is scene:
            scene.RemoveNode(display)


def line_nodes_in_folder(folder_item: int, scene=None) -> list:
    """The markups line nodes under a folder item (in creation order)."""
    scene = scene or get_scene()
    sh = scene.GetSubjectHierarchyNode()
    return [n for n in _child_nodes(sh, folder_item) if n.IsA("vtkMRMLMarkupsLineNode")]
