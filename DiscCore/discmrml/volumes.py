"""Volume nodes <-> :class:`disccore.image.SpatialImage`, with exact geometry.

This is the one place where Slicer's RAS world frame meets disccore's LPS frame:
- image -> node: ``node.SetIJKToRASMatrix(geometry.ijk_to_ras())`` (disccore builds the RAS matrix);
- node -> image: the node's IJKToRAS matrix (RAS mm) is turned into LPS with
  :func:`disccore.image.ras_to_lps` and split into spacing, origin and direction.
Oblique and left-handed directions are kept exactly (to float precision); nothing is resampled.

Arrays: SpatialImage arrays are indexed ``[i, j, k]``; VTK image scalars are stored with i fastest,
which numpy sees as ``[k, j, i]``. The transposes happen here only.

Parent transforms are not applied: the geometry is the volume's own (local) RAS frame. Outputs
derived from a volume (segmentations, line markups) are placed under the same parent transform,
so they show in the right place.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from disccore.errors import ImageContentError, InputError
from disccore.image import Geometry, SpatialImage, ras_to_lps

from .headless import get_scene


def _matrix_to_array(vtk_matrix) -> np.ndarray:
    return np.array([[vtk_matrix.GetElement(r, c) for c in range(4)] for r in range(4)], dtype=float)


def _array_to_matrix(array: np.ndarray):
    m = vtk.vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            m.SetElement(r, c, float(array[r, c]))
    return m


def ijk_to_ras_array(volume_node) -> np.ndarray:
    """The 4x4 IJKToRAS matrix (RAS mm) of a volume node as a numpy array."""
    m = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(m)
    return _matrix_to_array(m)


def geometry_from_ijk_to_ras(ijk_to_ras: np.ndarray, size) -> Geometry:
    """A disccore Geometry (LPS) from a 4x4 IJKToRAS matrix (RAS) and a grid size (i, j, k).

    The inverse of :meth:`Geometry.ijk_to_ras`: columns of the LPS matrix are spacing * direction.
    """
    ijk_to_ras = np.asarray(ijk_to_ras, dtype=float)
    axes_lps = ras_to_lps(ijk_to_ras[:3, :3].T).T  # flip each column (axis vector) from RAS to LPS
    origin_lps = ras_to_lps(ijk_to_ras[:3, 3])
    spacing = np.linalg.norm(axes_lps, axis=0)
    if np.any(spacing <= 0):
        raise ImageContentError("the volume has a zero voxel spacing; its geometry is damaged")
    return Geometry(size=tuple(int(s) for s in size), spacing=spacing, origin=origin_lps, direction=axes_lps / spacing)


def volume_geometry(volume_node) -> Geometry:
    """The voxel grid of a volume node as a disccore Geometry (LPS mm)."""
    image_data = volume_node.GetImageData() if volume_node is not None else None
    if image_data is None:
        raise InputError(f"the volume '{volume_node.GetName() if volume_node else None}' holds no image data")
    return geometry_from_ijk_to_ras(ijk_to_ras_array(volume_node), image_data.GetDimensions())


def volume_to_image(volume_node) -> SpatialImage:
    """A scalar (or label map) volume node -> SpatialImage with the node's exact geometry (a copy)."""
    geometry = volume_geometry(volume_node)
    image_data = volume_node.GetImageData()
    if image_data.GetNumberOfScalarComponents() != 1:
        raise ImageContentError(
            f"the volume '{volume_node.GetName()}' has {image_data.GetNumberOfScalarComponents()} components per voxel "
            "(colour or vector image); a greyscale MRI volume is needed"
        )
    flat = numpy_support.vtk_to_numpy(image_data.GetPointData().GetScalars())
    ni, nj, nk = geometry.size
    array = np.array(flat.reshape(nk, nj, ni).transpose(2, 1, 0))
    return SpatialImage(array, geometry)


def vtk_image_from_array(array: np.ndarray):
    """A vtkImageData holding ``array`` (indexed [i, j, k]); geometry is left to the caller."""
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.dtype == np.int64:
        array = array.astype(np.int32) if array.size == 0 or np.abs(array).max() < 2**31 else array
    image = vtk.vtkImageData()
    image.SetDimensions(*array.shape)
    flat = np.ascontiguousarray(array.transpose(2, 1, 0)).ravel()
    vtk_array = numpy_support.numpy_to_vtk(flat, deep=True, array_type=numpy_support.get_vtk_array_type(flat.dtype))
    vtk_array.SetNumberOfComponents(1)
    image.GetPointData().SetScalars(vtk_array)
    return image


def set_volume_geometry(volume_node, geometry: Geometry) -> None:
    """Give a volume node the exact grid of a disccore Geometry (spacing, origin, oblique directions)."""
    volume_node.SetIJKToRASMatrix(_array_to_matrix(geometry.ijk_to_ras()))


def image_to_volume(
    image: SpatialImage,
    name: str = "volume",
    volume_node=None,
    labelmap: bool = False,
    scene=None,
):
    """SpatialImage -> volume node (a new one unless ``volume_node`` is given); returns the node.

    ``labelmap=True`` makes a vtkMRMLLabelMapVolumeNode. Display nodes are created so the volume shows.
    """
    scene = scene or (volume_node.GetScene() if volume_node is not None else None) or get_scene()
    if volume_node is None:
        class_name = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
        volume_node = scene.AddNewNodeByClass(class_name, scene.GenerateUniqueName(name))
    volume_node.SetAndObserveImageData(vtk_image_from_array(image.array))
    set_volume_geometry(volume_node, image.geometry)
    if volume_node.GetDisplayNode() is None:
        volume_node.CreateDefaultDisplayNodes()
    return volume_node


def write_volume(volume_node, path) -> None:
    """Write a volume node to a file (NRRD, NIfTI...) with Slicer's own volume writer (LPS on disk)."""
    scene = volume_node.GetScene() or get_scene()
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetScene(scene)
    storage.SetFileName(str(path))
    storage.SetUseCompression(False)
    if not storage.WriteData(volume_node):
        from disccore.errors import OutputError

        raise OutputError(f"could not write the volume '{volume_node.GetName()}' to '{path}'")


def read_volume(path, name: Optional[str] = None, labelmap: bool = False, scene=None):
    """Read an image file into a new volume node with Slicer's own reader; returns the node."""
    scene = scene or get_scene()
    class_name = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(class_name, scene.GenerateUniqueName(name or "volume"))
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetFileName(str(path))
    if labelmap:
        storage.SetCenterImage(False)
    if not storage.ReadData(node):
        scene.RemoveNode(node)
        raise InputError(f"'{path}' could not be read as an image volume")
    node.CreateDefaultDisplayNodes()
    return node
