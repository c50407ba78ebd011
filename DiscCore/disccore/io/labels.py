"""Label maps: read them with the name of every label value, write them as .seg.nrrd or image + JSON.

Names always end up as segment names of the anatomy scheme (:mod:`disccore.anatomy`): 'l4/l5',
'L4_L5' and 'L5-S' are accepted and normalised; names the scheme does not know raise LabelError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .. import anatomy
from ..errors import InputError, LabelError, OutputError
from ..image import SpatialImage, to_sitk
from ..outputs import atomic_output, check_output_path
from ._formats import image_suffix, sidecar_path
from .images import read_sitk_file, sitk_to_spatial
from .preflight import check_path_kind
from .segnrrd import segmentation_metadata, segments_from_metadata

LabelsArg = Union[None, str, Path, Mapping]
#: label maps are stored as unsigned integers of at most 32 bits (also in .seg.nrrd)
MAX_LABEL_VALUE = np.iinfo(np.uint32).max
_LABEL_IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha")
_HOW_TO_NAME = (
    'name them with --labels "1=L5-S1,2=L4-L5" (or a JSON file {{"1": "L5-S1"}}) or put {sidecar} beside the label map'
)


# --- label names: parsing ------------------------------------------------------------------------


def _int_value(x) -> Optional[int]:
    """An integer label value from an int or a string like '124' / '124.0', else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, float) and x.is_integer():
        return int(x)
    if isinstance(x, str):
        t = x.strip()
        try:
            f = float(t)
        except ValueError:
            return None
        return int(f) if f.is_integer() else None
    return None


def _pairs_to_names(pairs, source: str) -> dict[int, str]:
    """(a, b) pairs where one side is a label value and the other a name -> {value: raw name}."""
    out: dict[int, str] = {}
    for a, b in pairs:
        va, vb = _int_value(a), _int_value(b)
        if va is not None and isinstance(b, str) and vb is None:
            value, name = va, b
        elif vb is not None and isinstance(a, str) and va is None:
            value, name = vb, a
        else:
            raise LabelError(f'{source}: \'{a}: {b}\' does not pair a label value with a name (e.g. "124": "L5-S1")')
        if value in out and out[value] != name:
            raise LabelError(f"{source}: label value {value} is named twice ('{out[value]}' and '{name}')")
        out[value] = name.strip()
    return out


def _names_from_json(doc, source: str) -> dict[int, str]:
    if isinstance(doc, dict) and set(doc) == {"labels"}:
        doc = doc["labels"]
    if isinstance(doc, dict):
        return _pairs_to_names(doc.items(), source)
    if isinstance(doc, list) and all(isinstance(d, dict) for d in doc):
        pairs = []
        for d in doc:
            value = d.get("value", d.get("label", d.get("labelValue")))
            name = d.get("name")
            pairs.append((value, name))
        return _pairs_to_names(pairs, source)
    raise LabelError(f'{source}: expected a JSON object like {{"124": "L5-S1"}}')


def _read_json_names(path: Path) -> dict[int, str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"the label names file '{path}' could not be read ({e.__class__.__name__})") from None
    except json.JSONDecodeError as e:
        raise LabelError(f"the label names file '{path.name}' is not valid JSON (line {e.lineno}: {e.msg})") from None
    return _names_from_json(doc, f"label names in '{path.name}'")


def parse_label_spec(spec: str) -> dict[int, str]:
    """'1=L5-S1,2=L4-L5' (or 'L5-S1=1; L4-L5=2', ':' also accepted) -> {1: 'L5-S1', 2: 'L4-L5'} (names as given)."""
    pairs = []
    for item in spec.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        for sep in ("=", ":"):
            if sep in item:
                a, b = item.split(sep, 1)
                pairs.append((a.strip(), b.strip()))
                break
        else:
            raise LabelError(f"label names '{spec}': '{item}' needs the form value=name, e.g. 1=L5-S1")
    if not pairs:
        raise LabelError(f"label names '{spec}' name no labels; use the form \"1=L5-S1,2=L4-L5\"")
    return _pairs_to_names(pairs, f"label names '{spec}'")


def label_names_from_arg(labels: LabelsArg) -> Optional[dict[int, str]]:
    """The ``labels`` argument (dict, JSON file path, or spec string) -> {value: raw name}, or None."""
    if labels is None:
        return None
    if isinstance(labels, Mapping):
        return _pairs_to_names(labels.items(), "label names")
    text = str(labels)
    p = Path(text)
    if text.lower().endswith(".json") or (p.is_file() and "=" not in text):
        if p.exists():
            check_path_kind(p, "label names file")  # a FIFO would block the read forever
        if not p.is_file():
            raise InputError(f"the label names file '{p}' does not exist")
        return _read_json_names(p)
    return parse_label_spec(text)


def normalize_label_names(names: Mapping[int, str]) -> dict[int, str]:
    """{value: any spelling} -> {value: scheme name}; LabelError for unknown names or a name given twice."""
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for value, name in names.items():
        canonical = anatomy.by_name(name).name
        if canonical in seen and seen[canonical] != int(value):
            raise LabelError(
                f"label values {seen[canonical]} and {value} are both named {canonical}; each structure needs one value"
            )
        seen[canonical] = int(value)
        out[int(value)] = canonical
    return out


# --- label arrays ----------------------------------------------------------------------------------


def integral_labels(array: np.ndarray, what: str = "label map") -> np.ndarray:
    """The label array as the smallest unsigned integer type that holds it; LabelError for fractional,
    negative or non-finite values."""
    a = np.asarray(array)
    if a.dtype == bool:
        return a.astype(np.uint8)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise LabelError(f"the {what} holds NaN or infinite values; a label map holds whole numbers")
        frac = a != np.round(a)
        if frac.any():
            example = float(a[frac].flat[0])
            raise LabelError(
                f"the {what} holds fractional values (e.g. {example:g}); a label map holds whole numbers "
                "(is this an image rather than a segmentation?)"
            )
    elif a.dtype.kind not in "iu":
        raise LabelError(f"the {what} has voxel type {a.dtype}; a label map holds whole numbers")
    if a.size and a.min() < 0:
        raise LabelError(f"the {what} holds negative values (e.g. {a.min():g}); label values are 0 or positive")
    top = int(a.max()) if a.size else 0
    if top > MAX_LABEL_VALUE:  # would wrap around in the label type and alias a real label
        raise LabelError(f"the {what} holds the value {top}, larger than the largest label value {MAX_LABEL_VALUE}")
    dtype = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.uint32
    return a.astype(dtype)


def _present_values(array: np.ndarray) -> list[int]:
    return [int(v) for v in np.unique(array) if v != 0]


def _list(values) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:12])
    return shown + (f" and {len(values) - 12} more" if len(values) > 12 else "")


# --- reading ---------------------------------------------------------------------------------------


def _read_seg_nrrd(img, path: Path, labels: LabelsArg):
    """(SpatialImage, {value: raw name}) from a .seg.nrrd that lists segments; layers merged."""
    import SimpleITK as sitk

    meta = {k: img.GetMetaData(k) for k in img.GetMetaDataKeys()}
    segments = segments_from_metadata(meta)
    n_layers = img.GetNumberOfComponentsPerPixel()
    if not segments:
        return None
    if n_layers == 1:
        image = sitk_to_spatial(img, "segmentation")
        arr = integral_labels(image.array, "segmentation")
        if labels is not None:
            return SpatialImage(arr, image.geometry), label_names_from_arg(labels)
        names = _pairs_to_names([(s.label_value, s.name) for s in segments if s.layer == 0], f"'{path.name}'")
        return SpatialImage(arr, image.geometry), names
    if labels is not None:
        raise LabelError(
            f"'{path.name}' has overlapping segment layers; its segment names are used, so leave out --labels"
        )
    layers = [sitk.VectorIndexSelectionCast(img, i) for i in range(n_layers)]
    first = sitk_to_spatial(layers[0], "segmentation")
    arrays = [first.array] + [sitk_to_spatial(layer, "segmentation").array for layer in layers[1:]]
    merged = np.zeros(first.geometry.size, dtype=np.uint16)
    owner: dict[int, str] = {}
    names: dict[int, str] = {}
    for s in segments:
        if not 0 <= s.layer < n_layers:
            raise LabelError(f"'{path.name}': segment '{s.name}' refers to layer {s.layer}, which the file lacks")
        structure = anatomy.by_name(s.name)
        value = structure.label
        if value in names:
            raise LabelError(
                f"'{path.name}': two segments are named {structure.name}; each structure needs one segment"
            )
        mask = arrays[s.layer] == s.label_value
        clash = merged[mask]
        if np.any(clash):
            other = owner[int(clash[clash != 0][0])]
            raise LabelError(
                f"segments {other} and {structure.name} overlap in {int(np.count_nonzero(clash))} voxels; "
                "remove the overlap (Segment Editor: 'Overwrite other segments') and save again"
            )
        merged[mask] = value
        owner[value] = structure.name
        names[value] = structure.name
    for layer, arr in enumerate(arrays):
        named = {s.label_value for s in segments if s.layer == layer}
        stray = sorted(set(_present_values(arr)) - named)
        if stray:
            raise LabelError(f"'{path.name}': layer {layer} holds label values {_list(stray)} that no segment names")
    return SpatialImage(integral_labels(merged, "segmentation"), first.geometry), names


def read_labelmap(path, labels: LabelsArg = None) -> tuple[SpatialImage, dict[int, str]]:
    """Read a label map and name its values: returns (label image, {value: scheme segment name}).

    Geometry is LPS mm as in :func:`read_image`. The names come from, in this order:
    a ``.seg.nrrd`` header's segments (segments on several layers are merged into one label map with the
    scheme's values when they do not overlap); the ``labels`` argument (a {value: name} dict, a JSON file
    path, or a spec string "1=L5-S1,2=L4-L5"); the JSON sidecar beside the file (``X.json`` for
    ``X.nii.gz``, either {"124": "L5-S1"} or {"L5-S1": 124}); else the anatomy scheme itself when every
    value in the map is a scheme value. The returned dict lists only values present in the map; names
    may also be given for absent values. Raises LabelError when a present value has no name, a name is
    unknown, or the values are fractional, and InputError / ImageContentError as read_image does.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"the label map '{p}' does not exist")
    if p.is_dir():
        raise InputError(f"'{p}' is a folder; give a label map file (.seg.nrrd, .nii.gz, .nrrd or .mha)")
    img = read_sitk_file(p)
    result = _read_seg_nrrd(img, p, labels) if image_suffix(p) == ".seg.nrrd" else None
    if result is not None:
        image, raw_names = result
    else:
        image = sitk_to_spatial(img, "label map")
        image = SpatialImage(integral_labels(image.array), image.geometry)
        raw_names = label_names_from_arg(labels)
        if raw_names is None and sidecar_path(p).is_file():
            raw_names = _read_json_names(sidecar_path(p))
    present = _present_values(image.array)
    if not present:
        raise LabelError(f"the label map '{p.name}' is empty (no labelled voxels)")
    if raw_names is None:
        scheme = anatomy.default_label_names()
        unknown = [v for v in present if v not in scheme]
        if unknown:
            raise LabelError(
                f"the label map's values {_list(present)} have no names (values {_list(unknown)} are not in the "
                "anatomy scheme); " + _HOW_TO_NAME.format(sidecar=sidecar_path(p).name)
            )
        raw_names = {v: scheme[v] for v in present}
    names = normalize_label_names(raw_names)
    unnamed = [v for v in present if v not in names]
    if unnamed:
        raise LabelError(
            f"label values {_list(unnamed)} in '{p.name}' have no name; "
            + _HOW_TO_NAME.format(sidecar=sidecar_path(p).name)
        )
    return image, {v: names[v] for v in present}


# --- writing ---------------------------------------------------------------------------------------


def write_segmentation(
    labels: SpatialImage, path, label_names: Optional[Mapping[int, str]] = None, overwrite: bool = False
) -> list[Path]:
    """Write a label map with its segment names; returns the files written.

    ``.seg.nrrd``: a one-layer 3D Slicer segmentation (LPS, exact geometry) whose header names every
    structure present, with the scheme's colour and SNOMED CT terminology. ``.nii.gz`` / ``.nii`` /
    ``.nrrd`` / ``.mha``: the label map plus a flat JSON sidecar ``{"124": "L5-S1", ...}`` beside it
    (``X.json``). ``label_names`` ({value: name}) defaults to the anatomy scheme. Every output is refused
    when it exists unless ``overwrite``, and written atomically (no partial files).
    """
    import SimpleITK as sitk

    p = Path(path)
    suffix = image_suffix(p)
    if suffix != ".seg.nrrd" and suffix not in _LABEL_IMAGE_SUFFIXES:
        raise OutputError(
            f"cannot write a segmentation to '{p.name}': give a file name ending in .seg.nrrd, "
            + ", ".join(_LABEL_IMAGE_SUFFIXES)
        )
    arr = integral_labels(labels.array, "segmentation")
    names = normalize_label_names(label_names if label_names is not None else anatomy.default_label_names())
    present = _present_values(arr)
    unnamed = [v for v in present if v not in names]
    if unnamed:
        raise LabelError(f"label values {_list(unnamed)} of the segmentation have no name; cannot write it")
    segments = [(v, anatomy.by_name(names[v])) for v in present]
    img = to_sitk(SpatialImage(arr, labels.geometry))
    if suffix == ".seg.nrrd":
        for key, value in segmentation_metadata(arr, segments).items():
            img.SetMetaData(key, value)
        with atomic_output(p, overwrite) as tmp:
            _write(sitk, img, tmp, p)
        return [p]
    side = sidecar_path(p)
    check_output_path(p, overwrite)
    check_output_path(side, overwrite)
    text = json.dumps({str(v): s.name for v, s in segments}, indent=1) + "\n"
    with atomic_output(p, overwrite) as tmp_image, atomic_output(side, overwrite) as tmp_side:
        _write(sitk, img, tmp_image, p)
        tmp_side.write_text(text, encoding="utf-8")
    return [p, side]


def _write(sitk, img, tmp: Path, final: Path) -> None:
    try:
        sitk.WriteImage(img, str(tmp), True)
    except RuntimeError:
        raise OutputError(f"'{final}' could not be written (disk full or no permission?)") from None
