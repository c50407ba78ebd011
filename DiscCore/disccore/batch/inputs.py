"""The batch's inputs: files as given, folders expanded into their images (or taken as one DICOM series)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from ..pipeline import IMAGE_SUFFIXES, case_name

# Outputs of this tool and label maps are not images to segment.
NOT_AN_IMAGE_SUFFIXES = (".seg.nrrd",)
# A folder is taken as a DICOM series when one of its files is marked as DICOM, or is named like one.
DICOM_MARKER_OFFSET, DICOM_MARKER = 128, b"DICM"
DICOM_SUFFIXES = (".dcm", ".ima", "")


def _images_in(folder: Path) -> list:
    return sorted(
        f
        for f in folder.iterdir()
        if f.is_file()
        and f.name.lower().endswith(IMAGE_SUFFIXES)
        and not f.name.lower().endswith(NOT_AN_IMAGE_SUFFIXES)
        and not f.name.startswith(".")
    )


def _looks_like_dicom(folder: Path) -> bool:
    for f in folder.iterdir():
        if not f.is_file() or f.name.startswith("."):
            continue
        if f.suffix.lower() in DICOM_SUFFIXES:
            return True
        try:
            with open(f, "rb") as stream:
                stream.seek(DICOM_MARKER_OFFSET)
                if stream.read(len(DICOM_MARKER)) == DICOM_MARKER:
                    return True
        except OSError:
            continue
    return False


def find_inputs(inputs: Iterable) -> list:
    """Expand the batch inputs: files as given; a folder gives its image files, or itself if it holds DICOM,
    or else the folders in it.

    Raises InputError for a path that does not exist (so a typo is not silently skipped), one that is neither a
    file nor a folder (a pipe would hang the reader), and for inputs whose case names collide (their outputs
    would overwrite each other).
    """
    found: list = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise InputError(f"'{p}' does not exist")
        if p.is_file():
            found.append(p)
            continue
        if not p.is_dir():
            raise InputError(f"'{p}' is neither a regular file nor a folder")
        images = _images_in(p)
        if images:
            found.extend(images)
        elif _looks_like_dicom(p):
            found.append(p)  # a DICOM series folder: read_image lists/picks the series
        else:
            found.extend(sorted(d for d in p.iterdir() if d.is_dir()))
    names = [case_name(f) for f in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"several inputs share the case name(s) {', '.join(dupes)}; their outputs would collide")
    return found
