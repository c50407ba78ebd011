"""The user's training cases from Slicer: save a volume with its corrected segmentation, list them, remove one.

A case is written as ``NAME.nrrd`` (the volume, Slicer's writer) and ``NAME.seg.nrrd`` (the segmentation as a label
map on the volume's exact grid, segment names of the anatomy scheme) into the user cases folder
(:func:`disccore.training.user_cases.user_cases_dir`), the layout ``disccore adapt --cases`` reads. Both files are
written under temporary names and renamed at the end, so a failure leaves no half case.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Optional

from disccore.errors import InputError, OutputError
from disccore.training.user_cases import case_files, find_user_cases, user_cases_dir

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def case_name_for(volume_node) -> str:
    """A file-safe case name from the volume's name ('T2 sag 3mm' -> 'T2_sag_3mm')."""
    name = _UNSAFE.sub("_", volume_node.GetName() or "case").strip("._") or "case"
    return name


def save_training_case(
    volume_node, segmentation_node, name: Optional[str] = None, folder=None, overwrite: bool = False
) -> Path:
    """Write the volume and its segmentation (on the volume's grid) as a training case; returns the image path."""
    from disccore.io import write_segmentation

    from .segmentations import segmentation_to_labelmap
    from .volumes import write_volume

    if volume_node is None or volume_node.GetImageData() is None:
        raise InputError("select the volume the segmentation was corrected on")
    folder = Path(folder) if folder is not None else user_cases_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = _UNSAFE.sub("_", name) if name else case_name_for(volume_node)
    image_path, seg_path = folder / f"{name}.nrrd", folder / f"{name}.seg.nrrd"
    if not overwrite and (image_path.exists() or seg_path.exists()):
        raise OutputError(f"a training case named '{name}' already exists in {folder}; remove it first or rename")
    labels, names, _ignored = segmentation_to_labelmap(segmentation_node, volume_node)
    if not names:
        raise InputError("the segmentation has no segment named after a structure (L1, L4-L5, canal, ...)")
    token = uuid.uuid4().hex[:8]
    tmp_image, tmp_seg = folder / f".tmp-{token}-{name}.nrrd", folder / f".tmp-{token}-{name}.seg.nrrd"
    try:
        write_volume(volume_node, tmp_image)
        write_segmentation(labels, tmp_seg, names)
        os.replace(tmp_image, image_path)
        os.replace(tmp_seg, seg_path)
    finally:
        for tmp in (tmp_image, tmp_seg):
            if tmp.exists():
                tmp.unlink()
    return image_path


def list_training_cases(folder=None) -> tuple[Path, list[str]]:
    """(the folder, the names of the complete cases in it; [] when it holds none yet)."""
    folder = Path(folder) if folder is not None else user_cases_dir()
    if not folder.is_dir():
        return folder, []
    return folder, [c.name for c in find_user_cases(folder, allow_none=True)]


def remove_training_case(name: str, folder=None) -> list[Path]:
    """Delete a case's files (image, segmentation, sidecar); returns what was removed."""
    folder = Path(folder) if folder is not None else user_cases_dir()
    cases = {c.name: c for c in find_user_cases(folder, allow_none=True)}
    if name not in cases:
        raise InputError(f"no training case named '{name}' in {folder}")
    removed = case_files(cases[name])
    for p in removed:
        p.unlink()
    return removed


def start_user_adaptation(name: str, parent: Optional[str] = None, progress=None, python=None, cases_folder=None):
    """Start ``disccore adapt`` out of process on the user's training cases, into the user models folder as
    ``name`` (a ModelProcess to poll / cancel); the model appears there, by that name, only when it succeeded."""
    from disccore.models import user_models_dir

    from .runner import start_adaptation

    if not name or _UNSAFE.search(name):
        raise InputError("give the adapted model a name of letters, digits, '-', '_' or '.', e.g. site-a")
    models = user_models_dir()
    models.mkdir(parents=True, exist_ok=True)
    cases = Path(cases_folder) if cases_folder is not None else user_cases_dir()
    return start_adaptation(cases, models / name, parent=parent, name=name, python=python, progress=progress)
