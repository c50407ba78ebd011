"""Cases and edits the modules' self-tests (ScriptedLoadableModuleTest) and Testing/ share.

- :func:`synthetic_case`: a small sagittal volume with L4, L4-L5, L5 and the canal, and its label map.
- :func:`load_sample`: the bundled synthetic lumbar MRI (``Resources/Samples``) with its exact label
  map and names, when the checkout has it (a packaged extension does not: callers fall back).
- :func:`erase_part_of_segment`: what a brush stroke of the Erase effect does to a segment: writes
  the segment's changed labelmap back through ``vtkSlicerSegmentationsModuleLogic``, which fires the
  same ``vtkSegmentation.SourceRepresentationModified`` event as Paint and Erase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from disccore import anatomy
from disccore.image import Geometry, SpatialImage

from .headless import get_scene

SAMPLE_NAME = "synthetic_lumbar_t2"
#: Resources/Samples seen from this file (DiscCore/discmrml/selftest.py) in a source checkout
SAMPLE_FOLDER = Path(__file__).resolve().parents[2] / "Resources" / "Samples"


@dataclass
class SampleCase:
    volume: object  # vtkMRMLScalarVolumeNode
    labels: SpatialImage  # the exact label map on the volume's grid
    names: dict  # label value -> structure name

    @property
    def structure_names(self) -> list[str]:
        return sorted(self.names.values())

    @property
    def disc_levels(self) -> list[str]:
        """The sample's disc levels, cranial to caudal (the table's row order)."""
        present = set(self.names.values())
        return [d.name for d in anatomy.discs() if d.name in present]


def synthetic_case(name: str = "DiscSelfTest", tilt: float = 0.0, scene=None) -> SampleCase:
    """L4, L4-L5, L5 and the canal on a sagittal grid of 0.7 x 0.7 x 4 mm, tilted by ``tilt`` radians."""
    from .volumes import image_to_volume

    c, s = np.cos(tilt), np.sin(tilt)
    direction = np.array([[0.0, -s, -c], [1.0, 0.0, 0.0], [0.0, -c, s]])
    g = Geometry(size=(48, 64, 11), spacing=(0.7, 0.7, 4.0), origin=(10.0, -60.0, 40.0), direction=direction)
    labels = np.zeros(g.size, np.int16)
    labels[8:40, 6:22, 1:-1] = 23
    labels[8:40, 22:28, 1:-1] = 123
    labels[8:40, 28:46, 1:-1] = 24
    labels[41:46, 10:50, 3:-3] = 201
    intensity = {0: 50.0, 23: 400.0, 24: 400.0, 123: 900.0, 201: 1200.0}
    image = np.vectorize(intensity.get)(labels).astype(np.float32)
    volume = image_to_volume(SpatialImage(image, g), name=name, scene=scene or get_scene())
    names = {v: anatomy.by_label(v).name for v in (23, 24, 123, 201)}
    return SampleCase(volume, SpatialImage(labels, g), names)


def sample_available(folder: Optional[Path] = None) -> bool:
    folder = folder or SAMPLE_FOLDER
    return all(
        (folder / f"{SAMPLE_NAME}{suffix}").is_file() for suffix in (".nii.gz", "_labels.nii.gz", "_labels.json")
    )


def load_sample(folder: Optional[Path] = None, scene=None) -> Optional[SampleCase]:
    """The bundled synthetic lumbar MRI as a volume node, with its exact label map; None without it."""
    from disccore.io import read_image

    from .volumes import image_to_volume

    folder = folder or SAMPLE_FOLDER
    if not sample_available(folder):
        return None
    image = read_image(folder / f"{SAMPLE_NAME}.nii.gz")
    labels = read_image(folder / f"{SAMPLE_NAME}_labels.nii.gz")
    names = {int(k): v for k, v in json.loads((folder / f"{SAMPLE_NAME}_labels.json").read_text()).items()}
    volume = image_to_volume(image, name=SAMPLE_NAME, scene=scene or get_scene())
    return SampleCase(volume, SpatialImage(labels.array.astype(np.int16), labels.geometry), names)


def _segment_labelmap(segmentation_node, segment_name: str):
    """(labelmap, its scalars, the segment's mask as a k, j, i array) of a segment, by name."""
    import slicer
    from vtk.util import numpy_support

    segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(segment_name)
    if not segment_id:
        raise KeyError(f"no segment named {segment_name}")
    labelmap = slicer.vtkOrientedImageData()
    segmentation_node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    scalars = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())
    extent = labelmap.GetExtent()
    shape = (extent[5] - extent[4] + 1, extent[3] - extent[2] + 1, extent[1] - extent[0] + 1)
    return segment_id, labelmap, scalars, scalars.reshape(shape) > 0


def _write_back(segmentation_node, segment_id, labelmap, scalars, mask, mode_name: str) -> None:
    import slicer

    scalars[:] = mask.ravel().astype(scalars.dtype)
    labelmap.Modified()
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    logic.SetBinaryLabelmapToSegment(labelmap, segmentation_node, segment_id, getattr(logic, mode_name))


def erase_part_of_segment(segmentation_node, segment_name: str, fraction: float = 0.5) -> int:
    """Erase the first ``fraction`` of a segment's voxels (along its labelmap's first axis), as a brush would.

    Returns how many voxels were erased. Raises KeyError when no segment has that name.
    """
    segment_id, labelmap, scalars, mask = _segment_labelmap(segmentation_node, segment_name)
    columns = np.nonzero(mask.any(axis=(0, 1)))[0]
    if columns.size == 0:
        return 0
    cut = columns[0] + max(1, round(fraction * columns.size))
    erased = int(mask[:, :, :cut].sum())
    mask[:, :, :cut] = False
    _write_back(segmentation_node, segment_id, labelmap, scalars, mask, "MODE_REPLACE")
    return erased


def paint_next_to_segment(segmentation_node, segment_name: str) -> int:
    """Paint one voxel's width onto a segment's inner face along its labelmap's first axis, as the Paint effect
    does (merging the stroke in with MODE_MERGE_MAX). Returns how many voxels were painted."""
    segment_id, labelmap, scalars, mask = _segment_labelmap(segmentation_node, segment_name)
    stroke = np.zeros_like(mask)
    stroke[:, :, :-1] = mask[:, :, 1:] & ~mask[:, :, :-1]  # the voxel just before the segment, row by row
    _write_back(segmentation_node, segment_id, labelmap, scalars, stroke, "MODE_MERGE_MAX")
    return int(stroke.sum())
