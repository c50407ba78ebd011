"""Label maps <-> segmentation nodes, with the anatomy scheme's names, colours and terminology.

**Keeping the user's work.** Every segment this bridge creates carries two tags:
``DiscMRML.Structure`` (the scheme name, e.g. ``L4-L5``) and ``DiscMRML.ContentHash`` (a hash of the
segment's voxels and grid at creation). A segment is *the bridge's, unedited* when it has the hash tag
and its current content still hashes to it. Every other segment, one the user painted, erased, grew
or added (no tag), or imported, is *the user's*. When new results are written into a node that already
holds segments (``replace=False``, the default):
- the bridge's unedited segments are replaced by the new results (or removed if the new run did not
  find that structure);
- the user's segments are kept untouched, and a new result for the same structure (matched by the tag
  or by the segment name, e.g. a user segment named ``l4/l5``) is not added (reported in ``skipped``);
- new structures are added.
``replace=True`` removes all segments first.

Going back, :func:`segmentation_to_labelmap` turns the segments whose names (or tags) match the scheme
into one label map on the grid of the source volume (or of the segmentation's own reference geometry).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from disccore import anatomy
from disccore.errors import InputError, LabelError, OutputError
from disccore.image import SpatialImage
from disccore.outputs import atomic_output

from .headless import get_scene
from .volumes import _array_to_matrix, _matrix_to_array, volume_to_image

TAG_STRUCTURE = "DiscMRML.Structure"
TAG_HASH = "DiscMRML.ContentHash"

#: Slicer's terminology context for anatomy with SNOMED CT codes (the same strings disccore.io writes)
TERMINOLOGY_CONTEXT = "Segmentation category and type - 3D Slicer General Anatomy list"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"
_SEG = slicer.vtkSlicerSegmentationsModuleLogic


def terminology_entry(structure: anatomy.Structure) -> str:
    """Slicer's serialized terminology entry for a scheme structure (category and type as SCT codes).

    ``context~category~type~typeModifier~anatomicContext~anatomicRegion~anatomicRegionModifier``.
    """
    c, t = structure.category, structure.type
    return (
        f"{TERMINOLOGY_CONTEXT}~{c.scheme}^{c.value}^{c.meaning}~{t.scheme}^{t.value}^{t.meaning}~^^"
        f"~{ANATOMIC_CONTEXT}~^^~^^"
    )


def _terminology_tag_name() -> str:
    getter = getattr(slicer.vtkSegment, "GetTerminologyEntryTagName", None)
    return getter() if getter else "TerminologyEntry"


def get_tag(segment, name: str) -> Optional[str]:
    value = vtk.reference("")
    return str(value) if segment.GetTag(name, value) else None


def structure_for_name(name: str) -> Optional[anatomy.Structure]:
    """The scheme structure a segment name means ('L4/L5', 'l4-l5' -> L4-L5), or None."""
    try:
        return anatomy.by_name(name)
    except LabelError:
        return None


def segment_structure(segment) -> Optional[anatomy.Structure]:
    """The structure a segment stands for: its structure tag if set, else its name."""
    tagged = get_tag(segment, TAG_STRUCTURE)
    return structure_for_name(tagged) if tagged else structure_for_name(segment.GetName())


# --- content hash ------------------------------------------------------------------------------
def _segment_mask(segmentation_node, segment_id: str):
    """(mask indexed [i, j, k], absolute index of mask[0,0,0], 4x4 image-to-world) of a segment, or None."""
    image = slicer.vtkOrientedImageData()
    if not _SEG.GetSegmentBinaryLabelmapRepresentation(segmentation_node, segment_id, image):
        return None
    extent = image.GetExtent()
    dims = [extent[1] - extent[0] + 1, extent[3] - extent[2] + 1, extent[5] - extent[4] + 1]
    m = vtk.vtkMatrix4x4()
    image.GetImageToWorldMatrix(m)
    if min(dims) <= 0 or image.GetPointData().GetScalars() is None:
        return np.zeros((0, 0, 0), bool), np.zeros(3, int), _matrix_to_array(m)
    flat = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    array = flat.reshape(dims[2], dims[1], dims[0]).transpose(2, 1, 0)
    label_value = segmentation_node.GetSegmentation().GetSegment(segment_id).GetLabelValue()
    return array == label_value, np.array(extent[0::2]), _matrix_to_array(m)


def segment_content_hash(segmentation_node, segment_id: str) -> Optional[str]:
    """A hash of a segment's voxels (cropped to their bounding box) and grid; None if not a label map."""
    got = _segment_mask(segmentation_node, segment_id)
    if got is None:
        return None
    mask, start, matrix = got
    h = hashlib.sha256()
    nonzero = np.argwhere(mask)
    if len(nonzero):
        lo, hi = nonzero.min(axis=0), nonzero.max(axis=0) + 1
        crop = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        h.update(np.asarray(start + lo, dtype=np.int64).tobytes())
        h.update(np.asarray(crop.shape, dtype=np.int64).tobytes())
        h.update(np.packbits(np.ascontiguousarray(crop)).tobytes())
    else:
        h.update(b"empty")
    h.update(np.round(matrix, 6).tobytes())
    return h.hexdigest()[:32]


def is_unedited_result(segmentation_node, segment_id: str) -> bool:
    """True for a segment this bridge created whose content the user has not changed since."""
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    stored = get_tag(segment, TAG_HASH) if segment is not None else None
    return bool(stored) and stored == segment_content_hash(segmentation_node, segment_id)


# --- label map -> segmentation node ------------------------------------------------------------
@dataclass
class SegmentUpdate:
    """What :func:`labelmap_to_segmentation` did, by segment name."""

    added: list = field(default_factory=list)  # new results written
    kept: list = field(default_factory=list)  # the user's segments, left untouched
    skipped: list = field(default_factory=list)  # new results not written because a user segment holds that structure
    removed: list = field(default_factory=list)  # the bridge's unedited segments the new run no longer has
    quality: Optional[dict] = None  # the model's quality report (NAME.qc.json of disccore segment), when it wrote one

    def review_warning(self) -> str:
        """One line when the model's quality report flags the case or a level ("" otherwise)."""
        from disccore.quality.review import review_reasons, review_warning

        return review_warning(review_reasons({"qc": self.quality})) if self.quality else ""

    def summary(self) -> str:
        parts = [f"{len(self.added)} segment(s) written"]
        if self.kept:
            parts.append(f"kept your segments {', '.join(self.kept)}")
        if self.skipped:
            parts.append(
                f"new results for {', '.join(self.skipped)} not applied (you edited them; use 'replace' to overwrite)"
            )
        return "; ".join(parts)


def _resolve_label(value: int, label_names: Optional[dict]) -> tuple[str, Optional[anatomy.Structure]]:
    name = (label_names or {}).get(int(value))
    if name is None:
        try:
            s = anatomy.by_label(int(value))
            return s.name, s
        except LabelError:
            return f"label {int(value)}", None
    s = structure_for_name(name)
    return (s.name, s) if s else (str(name), None)


def _oriented_mask(mask: np.ndarray, image: SpatialImage):
    """vtkOrientedImageData of a binary mask cropped to its bounding box, on the image's grid (RAS)."""
    nonzero = np.argwhere(mask)
    lo, hi = nonzero.min(axis=0), nonzero.max(axis=0)
    crop = np.ascontiguousarray(mask[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1].astype(np.uint8))
    oriented = slicer.vtkOrientedImageData()
    oriented.SetExtent(int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1]), int(lo[2]), int(hi[2]))
    oriented.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(oriented.GetPointData().GetScalars())[:] = crop.transpose(2, 1, 0).ravel()
    oriented.SetImageToWorldMatrix(_array_to_matrix(image.geometry.ijk_to_ras()))
    return oriented


def labelmap_to_segmentation(
    labels: SpatialImage,
    label_names: Optional[dict] = None,
    segmentation_node=None,
    reference_volume=None,
    replace: bool = False,
    name: str = "segmentation",
    scene=None,
):
    """Write a label map into a segmentation node; returns ``(node, SegmentUpdate)``.

    One segment per non-zero label value, named, coloured and coded from the anatomy scheme
    (``label_names``: value -> segment name; default: the scheme's own values). Values not in the
    scheme still become segments, named from ``label_names`` or ``label N``. Existing segments are
    handled as described in the module docstring. The node's reference geometry is the source
    volume's (or the label map's own grid).
    """
    scene = scene or (segmentation_node.GetScene() if segmentation_node is not None else None) or get_scene()
    if segmentation_node is None:
        segmentation_node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", scene.GenerateUniqueName(name))
    if segmentation_node.GetDisplayNode() is None:
        segmentation_node.CreateDefaultDisplayNodes()
    update = SegmentUpdate()
    was_modifying = segmentation_node.StartModify()
    try:
        _set_reference_geometry(segmentation_node, labels, reference_volume)
        held_by_user = _clear_results(segmentation_node, replace, update)
        array = np.asarray(labels.array)
        values = [int(v) for v in np.unique(array) if v != 0]
        order = {s.label: i for i, s in enumerate(anatomy.structures())}
        values.sort(key=lambda v: (order.get(v, len(order)), v))
        for value in values:
            seg_name, structure = _resolve_label(value, label_names)
            if seg_name in held_by_user:
                update.skipped.append(seg_name)
                continue
            _add_segment(segmentation_node, seg_name, structure, _oriented_mask(array == value, labels))
            update.added.append(seg_name)
        update.removed = [n for n in update.removed if n not in update.added]
    finally:
        segmentation_node.EndModify(was_modifying)
    if reference_volume is not None and reference_volume.GetParentTransformNode() is not None:
        segmentation_node.SetAndObserveTransformNodeID(reference_volume.GetParentTransformNode().GetID())
    return segmentation_node, update


def _set_reference_geometry(segmentation_node, labels: SpatialImage, reference_volume) -> None:
    """The segmentation's reference grid: the source volume's, or the label map's own."""
    if reference_volume is not None:
        segmentation_node.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume)
        return
    ni, nj, nk = labels.geometry.size
    geometry = slicer.vtkSegmentationConverter.SerializeImageGeometry(
        _array_to_matrix(labels.geometry.ijk_to_ras()), [0, ni - 1, 0, nj - 1, 0, nk - 1]
    )
    segmentation_node.GetSegmentation().SetConversionParameter(
        slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName(), geometry
    )


def _clear_results(segmentation_node, replace: bool, update: SegmentUpdate) -> set:
    """Remove the earlier results (every segment when ``replace``, else those the user did not edit); returns the
    names of the structures the user's kept segments hold."""
    segmentation = segmentation_node.GetSegmentation()
    held_by_user: set[str] = set()
    for segment_id in list(segmentation.GetSegmentIDs()):
        segment = segmentation.GetSegment(segment_id)
        seg_name = segment.GetName()
        if replace or is_unedited_result(segmentation_node, segment_id):
            segmentation.RemoveSegment(segment_id)
            update.removed.append(seg_name)
        else:
            update.kept.append(seg_name)
            s = segment_structure(segment)
            held_by_user.add(s.name if s else seg_name)
    return held_by_user


def _add_segment(segmentation_node, seg_name: str, structure, mask) -> None:
    """A new segment named, coloured and coded from the scheme, filled with ``mask`` (oriented image data), and the
    hash that later tells whether the user edited it."""
    segmentation = segmentation_node.GetSegmentation()
    segment_id = seg_name if not segmentation.GetSegment(seg_name) else segmentation.GenerateUniqueSegmentID(seg_name)
    color = structure.color if structure else (0.5, 0.5, 0.5)
    segment_id = segmentation.AddEmptySegment(segment_id, seg_name, color)
    segment = segmentation.GetSegment(segment_id)
    if structure is not None:
        segment.SetTag(_terminology_tag_name(), terminology_entry(structure))
        segment.SetTag(TAG_STRUCTURE, structure.name)
    if not _SEG.SetBinaryLabelmapToSegment(mask, segmentation_node, segment_id, _SEG.MODE_REPLACE, mask.GetExtent()):
        raise OutputError(f"could not write the segment '{seg_name}' into '{segmentation_node.GetName()}'")
    segment.SetTag(TAG_HASH, segment_content_hash(segmentation_node, segment_id))


# --- segmentation node -> label map ------------------------------------------------------------
def _remove_node(scene, node) -> None:
    if node is None:
        return
    display = node.GetDisplayNode() if hasattr(node, "GetDisplayNode") else None
    color = display.GetColorNode() if display is not None and hasattr(display, "GetColorNode") else None
    scene.RemoveNode(node)
    if color is not None and color.GetScene() is scene and not color.GetSingletonTag():
        scene.RemoveNode(color)


def segmentation_to_labelmap(segmentation_node, reference_volume=None):
    """Segmentation node -> ``(labels, label_names, ignored)`` for measurement.

    ``labels`` is a SpatialImage on the grid of ``reference_volume`` when given (exactly its voxel
    grid), else on the segmentation's reference geometry. Segments are matched to the anatomy scheme
    by their structure tag or name; ``ignored`` lists segment names that match no structure.
    ``label_names`` maps the scheme values present to their names.
    """
    if segmentation_node is None:
        raise InputError("no segmentation selected")
    segmentation = segmentation_node.GetSegmentation()
    scene = segmentation_node.GetScene() or get_scene()
    chosen: list[tuple[str, anatomy.Structure]] = []
    ignored: list[str] = []
    for segment_id in segmentation.GetSegmentIDs():
        segment = segmentation.GetSegment(segment_id)
        s = segment_structure(segment)
        if s is None:
            ignored.append(segment.GetName())
        else:
            chosen.append((segment_id, s))
    order = {s.name: i for i, s in enumerate(anatomy.structures())}
    chosen.sort(key=lambda item: order[item[1].name])

    labelmap_node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__disc_export__")
    labelmap_node.SetHideFromEditors(True)
    try:
        ids = vtk.vtkStringArray()
        for segment_id, _ in chosen:
            ids.InsertNextValue(segment_id)
        if chosen:
            ok = _SEG.ExportSegmentsToLabelmapNode(
                segmentation_node,
                ids,
                labelmap_node,
                reference_volume,
                slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY,
            )
        else:
            ok = False
        if ok and labelmap_node.GetImageData() is not None:
            exported = volume_to_image(labelmap_node)
        else:
            exported = None
    finally:
        _remove_node(scene, labelmap_node)

    if exported is None:
        if reference_volume is None and not chosen:
            raise LabelError(
                f"the segmentation '{segmentation_node.GetName()}' has no segment named after a vertebra, disc or "
                "the canal "
                f"({', '.join(ignored) or 'it is empty'}); name segments like L4, L4-L5, canal"
            )
        if reference_volume is None:
            raise InputError(f"could not export the segmentation '{segmentation_node.GetName()}' to a label map")
        ref = volume_to_image(reference_volume)
        return SpatialImage(np.zeros(ref.geometry.size, np.int16), ref.geometry), {}, ignored

    lut = np.zeros(len(chosen) + 1, dtype=np.int16)
    for index, (_, s) in enumerate(chosen, start=1):
        lut[index] = s.label
    labels = SpatialImage(lut[np.asarray(exported.array, dtype=np.int64)], exported.geometry)
    present = {int(v) for v in np.unique(labels.array) if v}
    names = {s.label: s.name for _, s in chosen if s.label in present}
    return labels, names, ignored


# --- files -------------------------------------------------------------------------------------
def save_segmentation(segmentation_node, path, overwrite: bool = False) -> Path:
    """Write a segmentation node to ``.seg.nrrd`` with Slicer's writer (atomic; refuses to clobber)."""
    path = Path(path)
    if not path.name.lower().endswith(".seg.nrrd"):
        raise OutputError(f"'{path}': a segmentation is saved as .seg.nrrd")
    with atomic_output(path, overwrite) as tmp:
        storage = slicer.vtkMRMLSegmentationStorageNode()
        storage.SetScene(segmentation_node.GetScene() or get_scene())
        storage.SetFileName(str(tmp))
        storage.SetUseCompression(True)
        if not storage.WriteData(segmentation_node):
            raise OutputError(f"could not write the segmentation to '{path}'")
    return path


def load_segmentation(path, name: Optional[str] = None, scene=None):
    """Read a ``.seg.nrrd`` (or label map file) into a new segmentation node with Slicer's reader."""
    scene = scene or get_scene()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"'{path}' does not exist")
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", scene.GenerateUniqueName(name or path.name.split(".")[0]))
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetScene(scene)
    storage.SetFileName(str(path))
    if not storage.ReadData(node):
        scene.RemoveNode(node)
        raise InputError(f"'{path}' could not be read as a segmentation")
    node.CreateDefaultDisplayNodes()
    return node
