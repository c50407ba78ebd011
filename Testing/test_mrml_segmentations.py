"""Label map <-> segmentation node on slicer-core: scheme names/colours/terminology, user edits kept."""

from __future__ import annotations

import numpy as np
import pytest
from conftest_mrml import *  # noqa: F401,F403
from conftest_mrml import make_labels, oblique_geometry

from disccore import anatomy
from disccore.image import SpatialImage

pytestmark = pytest.mark.mrml


def _segments(node):
    s = node.GetSegmentation()
    return {s.GetSegment(i).GetName(): s.GetSegment(i) for i in s.GetSegmentIDs()}


def _mask(node, name, reference=None):
    from discmrml.segmentations import segmentation_to_labelmap

    labels, _, _ = segmentation_to_labelmap(node, reference)
    return labels.array == anatomy.by_name(name).label


def test_segments_carry_scheme_names_colours_values_and_terminology(scene):
    from discmrml.segmentations import TAG_STRUCTURE, get_tag, labelmap_to_segmentation, segment_structure
    from discmrml.volumes import image_to_volume

    g = oblique_geometry()
    labels = make_labels(g)
    volume = image_to_volume(SpatialImage(np.zeros(g.size, np.float32), g), scene=scene)
    node, update = labelmap_to_segmentation(labels, reference_volume=volume, scene=scene)

    segs = _segments(node)
    assert set(segs) == {"L4", "L5", "L4-L5", "canal"}
    assert sorted(update.added) == sorted(segs)
    for name, segment in segs.items():
        s = anatomy.by_name(name)
        np.testing.assert_allclose(segment.GetColor(), s.color, atol=1e-6)
        term = get_tag(segment, "TerminologyEntry")
        assert f"{s.type.scheme}^{s.type.value}^{s.type.meaning}" in term
        assert f"{s.category.scheme}^{s.category.value}^{s.category.meaning}" in term
        assert get_tag(segment, TAG_STRUCTURE) == name
        assert segment_structure(segment) is s
    # each segment holds exactly the voxels of its label value
    for name in segs:
        np.testing.assert_array_equal(_mask(node, name, volume), labels.array == anatomy.by_name(name).label)


def test_segmentation_to_labelmap_round_trip_on_source_geometry(scene):
    from discmrml.segmentations import labelmap_to_segmentation, segmentation_to_labelmap
    from discmrml.volumes import image_to_volume

    g = oblique_geometry(left_handed=True)
    labels = make_labels(g)
    volume = image_to_volume(SpatialImage(np.zeros(g.size, np.int16), g), scene=scene)
    node, _ = labelmap_to_segmentation(labels, scene=scene)  # no reference volume: the label map's own grid

    back, names, ignored = segmentation_to_labelmap(node, volume)
    assert back.geometry.same_grid(g, tol=1e-9)
    np.testing.assert_array_equal(back.array, labels.array)
    assert names == {23: "L4", 24: "L5", 123: "L4-L5", 201: "canal"}
    assert ignored == []

    back2, _, _ = segmentation_to_labelmap(node)  # the segmentation's reference geometry
    assert back2.geometry.same_grid(g, tol=1e-6)
    np.testing.assert_array_equal(back2.array, labels.array)


def test_other_label_values_and_names_are_mapped_to_the_scheme(scene):
    """A dataset's own values (1 = L5-S1 ...) with a name map become scheme segments."""
    from discmrml.segmentations import labelmap_to_segmentation, segmentation_to_labelmap

    g = oblique_geometry(size=(6, 6, 6))
    a = np.zeros(g.size, np.int16)
    a[1:3] = 1
    a[3:5] = 2
    a[5, 0, 0] = 7
    node, _ = labelmap_to_segmentation(SpatialImage(a, g), {1: "l5/s1", 2: "L4_L5", 7: "implant"}, scene=scene)
    assert set(_segments(node)) == {"L5-S1", "L4-L5", "implant"}
    back, names, ignored = segmentation_to_labelmap(node)
    assert names == {124: "L5-S1", 123: "L4-L5"}
    assert ignored == ["implant"]
    np.testing.assert_array_equal(back.array == 124, a == 1)


def test_rerun_keeps_segments_the_user_edited_or_added(scene):

    from discmrml.segmentations import is_unedited_result, labelmap_to_segmentation
    from discmrml.volumes import image_to_volume

    g = oblique_geometry()
    labels = make_labels(g)
    volume = image_to_volume(SpatialImage(np.zeros(g.size, np.float32), g), scene=scene)
    node, _ = labelmap_to_segmentation(labels, reference_volume=volume, scene=scene)
    segmentation = node.GetSegmentation()
    assert all(is_unedited_result(node, i) for i in segmentation.GetSegmentIDs())

    # the user erases part of L4-L5 (as the Segment Editor would: new content for the segment)
    disc_id = segmentation.GetSegmentIdBySegmentName("L4-L5")
    edited = labels.array == 123
    edited[: g.size[0] // 2] = False
    from discmrml.segmentations import _SEG, _oriented_mask

    mask = _oriented_mask(edited, labels)
    assert _SEG.SetBinaryLabelmapToSegment(mask, node, disc_id, _SEG.MODE_REPLACE, mask.GetExtent())
    assert not is_unedited_result(node, disc_id)
    # ... and adds a segment of their own
    user_id = segmentation.AddEmptySegment("", "my osteophyte", (1.0, 0.0, 0.0))
    assert not is_unedited_result(node, user_id)

    # the model runs again and finds a bigger disc, the same L4, and a new L3
    rerun = labels.array.copy()
    rerun[labels.array == 23] = 0
    rerun[2:-2, 1:3, 2:-2] = 22  # L3 takes part of the old L4 place
    rerun[2:-2, 3:5, 2:-2] = 23
    rerun[2:-2, 5:8, 2:-2] = 123
    node2, update = labelmap_to_segmentation(SpatialImage(rerun, g), segmentation_node=node, reference_volume=volume)
    assert node2 is node
    assert "L4-L5" in update.kept and "my osteophyte" in update.kept
    assert update.skipped == ["L4-L5"]
    assert set(update.added) == {"L3", "L4", "L5", "canal"}
    segs = _segments(node)
    assert set(segs) == {"L3", "L4", "L5", "L4-L5", "canal", "my osteophyte"}
    np.testing.assert_array_equal(_mask(node, "L4-L5", volume), edited)  # the user's edit survived
    np.testing.assert_array_equal(_mask(node, "L4", volume), rerun == 23)  # unedited results were replaced

    # replace=True discards the user's work on request
    _, update = labelmap_to_segmentation(
        SpatialImage(rerun, g), segmentation_node=node, reference_volume=volume, replace=True
    )
    assert update.kept == [] and update.skipped == []
    assert set(_segments(node)) == {"L3", "L4", "L5", "L4-L5", "canal"}
    np.testing.assert_array_equal(_mask(node, "L4-L5", volume), rerun == 123)


def test_renamed_result_counts_as_the_users(scene):
    """A user segment named like a structure (no tag) holds that structure against new results."""
    from discmrml.segmentations import labelmap_to_segmentation

    g = oblique_geometry(size=(6, 6, 6))
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    node.GetSegmentation().AddEmptySegment("", "l4/l5", (0.1, 0.2, 0.3))
    a = np.zeros(g.size, np.int16)
    a[1:3] = 123
    a[3:5] = 24
    _, update = labelmap_to_segmentation(SpatialImage(a, g), segmentation_node=node)
    assert update.kept == ["l4/l5"] and update.skipped == ["L4-L5"] and update.added == ["L5"]


def test_seg_nrrd_saved_by_slicer_is_read_by_slicerio_with_names_and_terminology(scene, tmp_path):
    slicerio = pytest.importorskip("slicerio")
    from disccore.errors import OutputError
    from discmrml.segmentations import labelmap_to_segmentation, load_segmentation, save_segmentation

    g = oblique_geometry()
    labels = make_labels(g)
    node, _ = labelmap_to_segmentation(labels, scene=scene)
    path = save_segmentation(node, tmp_path / "case.seg.nrrd")
    with pytest.raises(OutputError):
        save_segmentation(node, path)  # never clobbers without overwrite
    seg = slicerio.read_segmentation(str(path))
    by_name = {s["name"]: s for s in seg["segments"]}
    assert set(by_name) == {"L4", "L5", "L4-L5", "canal"}
    assert by_name["L4-L5"]["terminology"]["type"] == ["SCT", "360499006", "Intervertebral disc"]
    np.testing.assert_allclose(by_name["canal"]["color"], anatomy.canal().color, atol=1e-5)

    loaded = load_segmentation(path, scene=scene)
    assert set(_segments(loaded)) == {"L4", "L5", "L4-L5", "canal"}
    np.testing.assert_array_equal(_mask(loaded, "L4-L5"), labels.array == 123)


def test_seg_nrrd_written_by_disccore_io_loads_back_on_the_source_grid(scene, tmp_path):
    """What ``disccore segment`` writes (disccore.io) is what the runner loads into the scene."""
    from disccore.io import write_segmentation
    from discmrml.segmentations import load_segmentation, segmentation_to_labelmap
    from discmrml.volumes import image_to_volume

    g = oblique_geometry(left_handed=True)
    labels = make_labels(g)
    path = write_segmentation(labels, tmp_path / "io.seg.nrrd", anatomy.default_label_names())[0]
    volume = image_to_volume(SpatialImage(np.zeros(g.size, np.float32), g), scene=scene)
    node = load_segmentation(path, scene=scene)
    back, names, ignored = segmentation_to_labelmap(node, volume)
    np.testing.assert_array_equal(back.array, labels.array)
    assert names == {23: "L4", 24: "L5", 123: "L4-L5", 201: "canal"} and ignored == []


def test_user_segment_overlapping_a_new_result_is_left_intact(scene):
    """A new result written where a kept user segment lies does not erase the user's voxels."""
    from discmrml.segmentations import (
        _SEG,
        _oriented_mask,
        _segment_mask,
        labelmap_to_segmentation,
        segmentation_to_labelmap,
    )

    g = oblique_geometry()
    labels = make_labels(g)
    node, _ = labelmap_to_segmentation(labels, scene=scene)
    user = np.zeros(g.size, bool)
    user[3:8, 6:10, 3:5] = True  # across L4-L5 and L5
    user_id = node.GetSegmentation().AddEmptySegment("", "my region", (1.0, 0.0, 0.0))
    mask = _oriented_mask(user, labels)
    assert _SEG.SetBinaryLabelmapToSegment(mask, node, user_id, _SEG.MODE_REPLACE, mask.GetExtent())
    labelmap_to_segmentation(labels, segmentation_node=node)  # re-run: L4-L5 and L5 rewritten over it
    got, start, _ = _segment_mask(node, user_id)
    full = np.zeros(g.size, bool)
    full[start[0] : start[0] + got.shape[0], start[1] : start[1] + got.shape[1], start[2] : start[2] + got.shape[2]] = (
        got
    )
    np.testing.assert_array_equal(full, user)
    back, _, _ = segmentation_to_labelmap(node)
    np.testing.assert_array_equal(back.array == 124, labels.array == 124)


@pytest.mark.shared_data
def test_real_disc_label_map_round_trips_through_a_segmentation_node(scene, shared_data):
    """A real label map (ivd, dataset values 1..5) -> named segments -> label map on its own grid, exactly."""
    from disccore.io import read_labelmap
    from discmrml.segmentations import labelmap_to_segmentation, segmentation_to_labelmap
    from discmrml.volumes import image_to_volume

    labels, names = read_labelmap(
        shared_data / "ivd" / "ivd-011_discs.nii.gz", labels="1=L5-S1,2=L4-L5,3=L3-L4,4=L2-L3,5=L1-L2"
    )
    volume = image_to_volume(SpatialImage(np.zeros(labels.geometry.size, np.int16), labels.geometry), scene=scene)
    node, update = labelmap_to_segmentation(labels, names, reference_volume=volume, scene=scene)
    assert sorted(update.added) == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    back, back_names, _ = segmentation_to_labelmap(node, volume)
    expected = np.zeros_like(back.array)
    for value, name in names.items():
        expected[labels.array == value] = anatomy.by_name(name).label
    np.testing.assert_array_equal(back.array, expected)
    assert back.geometry.same_grid(labels.geometry, tol=1e-6)
