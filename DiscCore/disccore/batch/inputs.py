"""The batch's inputs: files as given, folders expanded into their images (or taken as one DICOM series)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..pipeline import IMAGE_SUFFIXES, case_name

# Outputs of this tool and label maps are not images to segment.
NOT_AN_IMAGE_SUFFIXES = (".seg.nrrd",)


def _images_in(folder: Path) -> list:
    return sorted(
        f
        for f in folder.iterdir()
        if f.is_file()
        and f.name.lower().endswith(IMAGE_SUFFIXES)
        and not f.name.lower().endswith(NOT_AN_IMAGE_SUFFIXES)
        and not f.name.startswith(".")
    )


def find_inputs(inputs: Iterable) -> list:
    """Expand the batch inputs: files as given; a folder gives its image files, or itself if it holds DICOM.

    Raises InputError for a path that does not exist (so a typo is not silently skipped) and for inputs whose
    case names collide (their outputs would overwrite each other).
    """
    found: list = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise InputError(f"'{p}' does not exist")
        if p.is_file():
            found.append(p)
            continue
        images = _images_in(p)
        if images:
            found.extend(images)
        elif any(f.is_file() for f in p.iterdir()):
            found.append(p)  # a DICOM series folder: read_image lists/picks the series
        else:
            found.extend(sorted(d for d in p.iterdir() if d.is_dir()))
    names = [case_name(f) for f in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"several inputs share the case name(s) {', '.join(dupes)}; their outputs would collide")
    return found
