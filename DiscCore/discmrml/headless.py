"""A headless MRML scene with an application logic, for when no Slicer application provides one.

Inside 3D Slicer (GUI or ``--no-main-window``) ``slicer.mrmlScene`` already exists and
:func:`get_scene` returns it. On ``slicer-core`` (PyPI: MRML without Qt), :func:`get_scene` builds
a scene with the application, colour, segmentation, subject hierarchy and markups logics once per
process and publishes it as ``slicer.mrmlScene`` so that ``slicer.util`` helpers that use the global
scene work.
"""

from __future__ import annotations

from typing import Optional

import slicer

_HEADLESS: Optional[HeadlessSlicer] = None


class HeadlessSlicer:
    """The parts of a Slicer application that MRML node handling needs, without Qt."""

    def __init__(self):
        from vtkmodules.vtkCommonCore import vtkCollection

        self.scene = slicer.vtkMRMLScene()
        self.app_logic = slicer.vtkSlicerApplicationLogic()
        self.app_logic.SetMRMLScene(self.scene)
        self.app_logic.GetColorLogic().SetMRMLScene(self.scene)
        self.app_logic.GetColorLogic().AddDefaultColorNodes()
        self.app_logic.SetSliceLogics(vtkCollection())
        self.app_logic.SetViewLogics(vtkCollection())

        self.segmentations_logic = slicer.vtkSlicerSegmentationsModuleLogic()
        self.segmentations_logic.SetMRMLScene(self.scene)
        self.segmentations_logic.SetMRMLApplicationLogic(self.app_logic)
        self.app_logic.SetModuleLogic("Segmentations", self.segmentations_logic)

        self.subject_hierarchy_logic = slicer.vtkSlicerSubjectHierarchyModuleLogic()
        self.subject_hierarchy_logic.SetMRMLScene(self.scene)

        self.markups_logic = slicer.vtkSlicerMarkupsLogic()
        self.markups_logic.SetMRMLScene(self.scene)
        self.markups_logic.SetMRMLApplicationLogic(self.app_logic)
        self.app_logic.SetModuleLogic("Markups", self.markups_logic)

        self.tables_logic = slicer.vtkSlicerTablesLogic()
        self.tables_logic.SetMRMLScene(self.scene)
        self.app_logic.SetModuleLogic("Tables", self.tables_logic)

    def clear(self) -> None:
        """Remove the data nodes (keeps singletons such as the subject hierarchy and selection nodes)."""
        self.scene.Clear(False)


def in_slicer_application() -> bool:
    """True inside the real 3D Slicer application (which provides ``slicer.app``)."""
    return hasattr(slicer, "app") and hasattr(slicer.app, "applicationLogic")


def get_headless() -> HeadlessSlicer:
    """The process-wide headless application (built on first use)."""
    global _HEADLESS
    if _HEADLESS is None:
        _HEADLESS = HeadlessSlicer()
        if getattr(slicer, "mrmlScene", None) is None:
            slicer.mrmlScene = _HEADLESS.scene
    return _HEADLESS


def get_scene():
    """The scene to work in: Slicer's ``slicer.mrmlScene`` when present, else the headless one."""
    scene = getattr(slicer, "mrmlScene", None)
    if scene is not None:
        return scene
    return get_headless().scene


def application_logic():
    """Slicer's application logic (for selection propagation), or the headless one; None if unknown."""
    if in_slicer_application():
        return slicer.app.applicationLogic()
    if _HEADLESS is not None and getattr(slicer, "mrmlScene", None) is _HEADLESS.scene:
        return _HEADLESS.app_logic
    return None
