"""Volume node <-> SpatialImage: exact oblique geometry, on slicer-core."""

from __future__ import annotations

import numpy as np
import pytest
from conftest_mrml import *  # noqa: F401,F403  (headless, scene fixtures)
from conftest_mrml import oblique_geometry

from disccore.image import SpatialImage

pytestmark = pytest.mark.mrml


@pytest.mark.parametrize("left_handed", [False, True])
def test_image_to_node_to_image_is_exact_on_oblique_grid(scene, left_handed):
    from discmrml.volumes import ijk_to_ras_array, image_to_volume, volume_to_image

    g = oblique_geometry(left_handed=left_handed)
    rng = np.random.default_rng(0)
    image = SpatialImage(rng.normal(size=g.size).astype(np.float32), g)
    node = image_to_volume(image, name="oblique", scene=scene)

    # the node's IJKToRAS is exactly disccore's ijk_to_ras (the one LPS->RAS conversion)
    np.testing.assert_allclose(ijk_to_ras_array(node), g.ijk_to_ras(), atol=1e-12)
    # a voxel's RAS position agrees between MRML and disccore
    ijk = np.array([3, 7, 5])
    ras_mrml = ijk_to_ras_array(node) @ np.r_[ijk, 1.0]
    np.testing.assert_allclose(ras_mrml[:3], g.index_to_ras(ijk), atol=1e-9)

    back = volume_to_image(node)
    assert back.array.shape == g.size
    np.testing.assert_array_equal(back.array, image.array)
    np.testing.assert_allclose(back.geometry.spacing, g.spacing, atol=1e-12)
    np.testing.assert_allclose(back.geometry.origin, g.origin, atol=1e-12)
    np.testing.assert_allclose(back.geometry.direction, g.direction, atol=1e-12)
    assert back.geometry.same_grid(g, tol=1e-9)


def test_node_to_image_to_node_keeps_ijk_to_ras(scene):
    """A node made by Slicer's own code (IJKToRAS set directly) survives node -> image -> node."""
    import slicer

    from discmrml.volumes import _array_to_matrix, ijk_to_ras_array, image_to_volume, volume_to_image

    m = np.eye(4)
    rot = oblique_geometry().direction
    m[:3, :3] = rot @ np.diag([0.43, 0.43, 4.4])
    m[:3, 3] = [-101.5, 33.25, -12.0]
    arr = np.arange(5 * 6 * 7, dtype=np.int16).reshape(7, 6, 5)  # numpy view of VTK is [k, j, i]
    node = slicer.util.addVolumeFromArray(arr, name="fromSlicer")
    node.SetIJKToRASMatrix(_array_to_matrix(m))

    image = volume_to_image(node)
    assert image.array.shape == (5, 6, 7)
    assert image.array[4, 0, 0] == arr[0, 0, 4]  # i is the fastest axis
    np.testing.assert_allclose(image.geometry.ijk_to_ras(), m, atol=1e-12)

    node2 = image_to_volume(image, name="copy", scene=scene)
    np.testing.assert_allclose(ijk_to_ras_array(node2), m, atol=1e-12)


def test_nrrd_written_by_slicer_reads_back_with_same_lps_geometry(scene, tmp_path):
    """Slicer's volume writer (what the out-of-process runner feeds the model) keeps the geometry."""
    import SimpleITK as sitk

    from disccore.image import from_sitk
    from discmrml.volumes import image_to_volume, write_volume

    g = oblique_geometry(left_handed=True)
    image = SpatialImage(np.random.default_rng(1).integers(0, 1000, size=g.size).astype(np.int16), g)
    node = image_to_volume(image, scene=scene)
    path = tmp_path / "case.nrrd"
    write_volume(node, path)
    back = from_sitk(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(back.array, image.array)
    assert back.geometry.same_grid(g, tol=1e-6)


def test_labelmap_node_class_and_integer_values(scene):
    from discmrml.volumes import image_to_volume, volume_to_image

    g = oblique_geometry(size=(4, 5, 6))
    labels = SpatialImage(np.full(g.size, 124, np.int16), g)
    node = image_to_volume(labels, name="labels", labelmap=True, scene=scene)
    assert node.IsA("vtkMRMLLabelMapVolumeNode")
    assert volume_to_image(node).array.dtype == np.int16
