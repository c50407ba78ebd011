"""Minimal readers used only when :mod:`disccore.io` is not installed (it normally is).

``read_labelmap(path, labels)`` reads any SimpleITK-readable label map and names its values from
``labels`` (a dict, a JSON file path or a '1=L5-S1,2=L4-L5' spec), else a JSON sidecar beside the file,
else the anatomy scheme's own values.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import anatomy
from ..errors import InputError, LabelError
from ..image import from_sitk


def _parse_labels(labels) -> dict[int, str]:
    if isinstance(labels, dict):
        return {int(k): str(v) for k, v in labels.items()}
    text = str(labels)
    if text.lower().endswith(".json") or Path(text).is_file():
        try:
            doc = json.loads(Path(text).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the label names file '{text}': {exc}") from exc
        return {int(k): str(v) for k, v in doc.items()}
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise LabelError(f"'{part}' is not of the form VALUE=NAME (e.g. 124=L5-S1)")
        k, v = part.split("=", 1)
        try:
            out[int(k)] = v.strip()
        except ValueError as exc:
            raise LabelError(f"'{k}' is not a label value (an integer)") from exc
    return out


def read_image(path):
    import SimpleITK as sitk

    p = Path(path)
    if not p.exists():
        raise InputError(f"'{p}' does not exist")
    try:
        img = sitk.ReadImage(str(p))
    except RuntimeError as exc:
        raise InputError(f"'{p}' is not an image this tool can read") from exc
    if img.GetDimension() != 3:
        raise InputError(f"'{p}' is {img.GetDimension()}D; a 3D image is needed")
    return from_sitk(img)


def read_labelmap(path, labels=None):
    image = read_image(path)
    if labels is not None:
        names = _parse_labels(labels)
    else:
        p = Path(path)
        stem = p.name[: -len(".nii.gz")] if p.name.endswith(".nii.gz") else p.stem
        sidecar = p.with_name(stem + ".json")
        names = _parse_labels(str(sidecar)) if sidecar.exists() else anatomy.default_label_names()
    return image, names
