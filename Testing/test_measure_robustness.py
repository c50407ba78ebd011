"""disccore.measure on incomplete, fragmented and odd label maps: None + note, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from phantoms_analytic import DiscSpec, StackSpec, build_stack, frame_vectors, make_geometry

from disccore.errors import Cancelled, ImageContentError
from disccore.image import Geometry, SpatialImage
from disccore.measure import DISC_COLUMNS, VERTEBRA_COLUMNS, measure_segmentation
from disccore.measure.result import grid_edge_note


@pytest.fixture(scope="module")
def stack():
    spec = StackSpec(discs=[DiscSpec(10.0, 0.1)], tilt_deg=20.0)
    geom = make_geometry((4.0, 0.5, 0.5), "LPS", oblique_deg=5.0, extent_mm=105.0, phase=(0.3, 0.6, 0.1))
    return build_stack(spec, geom)


def _without(labels, names, drop):
    arr = labels.array.copy()
    keep = dict(names)
    for value, name in names.items():
        if name in drop:
            arr[arr == value] = 0
            keep.pop(value)
    return SpatialImage(arr, labels.geometry), keep


def test_rows_have_exact_columns(stack):
    labels, names, _ = stack
    result = measure_segmentation(labels, names)
    assert all(list(r) == list(DISC_COLUMNS) for r in result.discs)
    assert all(list(r) == list(VERTEBRA_COLUMNS) for r in result.vertebrae)


def test_no_vertebrae_falls_back_to_own_axis(stack):
    labels, names, truth = stack
    labels2, names2 = _without(labels, names, {"L4", "L5"})
    row = measure_segmentation(labels2, names2).discs[0]
    assert "axis from the disc's own shape" in row["notes"]
    assert row["disc_height_index"] is None
    # a wedge disc's thinnest principal direction is close to the true axis: heights stay close
    assert row["disc_height_mm"] == pytest.approx(10.0, abs=0.3)
    assert row["canal_ap_diameter_mm"] == pytest.approx(15.0, abs=0.5)


def test_one_vertebra_missing(stack):
    labels, names, _ = stack
    labels2, names2 = _without(labels, names, {"L5"})
    result = measure_segmentation(labels2, names2)
    row = result.discs[0]
    assert "no L5 segmented" in row["notes"]
    assert row["disc_height_index"] is None
    assert [v["level"] for v in result.vertebrae] == ["L4"]


def test_no_canal(stack):
    labels, names, _ = stack
    labels2, names2 = _without(labels, names, {"canal"})
    row = measure_segmentation(labels2, names2).discs[0]
    for key in ("canal_ap_diameter_mm", "canal_area_mm2", "stenosis", "stenosis_criterion"):
        assert row[key] is None
    assert "no canal segmented" in row["notes"]
    assert row["disc_height_anterior_mm"] == pytest.approx(11.6, abs=0.4)  # patient's anterior used


def test_a_canal_speck_nearer_the_disc_is_not_taken_for_the_canal(stack):
    labels, names, _ = stack
    canal = next(v for v, n in names.items() if n == "canal")
    disc = next(v for v, n in names.items() if "-" in n)
    g = labels.geometry
    voxel = lambda p: tuple(np.round(g.lps_to_index(p)).astype(int))
    centre = g.index_to_lps(np.argwhere(labels.array == disc)).mean(axis=0)
    anterior, _, caudal = frame_vectors(20.0)  # the stack fixture's tilt
    posterior, up = -anterior, -caudal
    # walk back from the disc centre to the canal's front, then put a 4 x 4 x 4 mm canal-labelled speck
    # 6 mm in front of it (between the disc and the canal, in the disc's plane)
    front = next(s for s in np.arange(0.0, 60.0, 0.25) if labels.array[voxel(centre + s * posterior)] == canal)
    start = centre + (front - 6.0) * posterior
    i, j, k = voxel(start)
    arr = labels.array.copy()
    arr[i, j - 4 : j + 4, k - 4 : k + 4] = canal
    # joined to the canal by a thin bridge 8 mm above the plane: one canal segment, two pieces in the plane
    path = [start + s * up for s in np.arange(0, 8, 0.25)] + [
        start + 8 * up + s * posterior for s in np.arange(0, 8, 0.25)
    ]
    for p in path:
        arr[voxel(p)] = canal
    row = measure_segmentation(SpatialImage(arr, g), names).discs[0]
    assert row["canal_ap_diameter_mm"] == pytest.approx(15.0, abs=0.5)


def test_canal_named_but_absent_from_the_level(stack):
    labels, names, _ = stack
    arr = labels.array.copy()
    # keep only a short stretch of canal far from the disc plane: not found at the disc level
    idx = np.argwhere(arr == 201)
    pts = labels.geometry.index_to_lps(idx)
    far = pts[:, 2] < pts[:, 2].min() + 5
    arr[tuple(idx[~far].T)] = 0
    row = measure_segmentation(SpatialImage(arr, labels.geometry), names).discs[0]
    assert row["canal_ap_diameter_mm"] is None
    assert "canal not found at this level" in row["notes"]


def test_disc_in_two_pieces(stack):
    labels, names, truth = stack
    arr = labels.array.copy()
    # a stray blob of disc label far away: counted in the volume, ignored for heights
    i0 = np.array(arr.shape) // 8
    arr[i0[0] : i0[0] + 2, i0[1] : i0[1] + 4, i0[2] : i0[2] + 4] = 123
    n_stray = int(np.sum(arr == 123) - np.sum(labels.array == 123))
    row = measure_segmentation(SpatialImage(arr, labels.geometry), names).discs[0]
    ref = measure_segmentation(labels, names).discs[0]
    assert row["disc_volume_mm3"] == pytest.approx(ref["disc_volume_mm3"] + n_stray * labels.geometry.voxel_volume_mm3)
    assert "2 separate pieces" in row["notes"]
    assert row["disc_height_mm"] == pytest.approx(ref["disc_height_mm"], abs=1e-6)


def test_structures_cut_by_the_field_of_view_are_noted_not_dropped(stack):
    labels, names, _ = stack
    edge = "may be cut off by the field of view"
    assert edge in grid_edge_note(["inferior"])
    whole = measure_segmentation(labels, names)
    assert not any(edge in r["notes"] for r in whole.discs + whole.vertebrae)
    # a field of view that ends inside L5 (the lower body): the grid starts at L5's middle along the axis closest to S-I
    si = int(np.argmax(np.abs(labels.geometry.direction[2])))
    l5 = next(v for v, n in names.items() if n == "L5")
    start = int(np.median(np.argwhere(labels.array == l5)[:, si]))
    index = [slice(None)] * 3
    index[si] = slice(start, None)
    lo = np.zeros(3)
    lo[si] = start
    g = labels.geometry
    cut = Geometry(labels.array[tuple(index)].shape, g.spacing, g.index_to_lps(lo), g.direction)
    result = measure_segmentation(SpatialImage(np.ascontiguousarray(labels.array[tuple(index)]), cut), names)
    assert "reaches the inferior edge of the image" in result.vertebra("L5")["notes"]
    assert edge not in result.vertebra("L4")["notes"] and edge not in result.disc("L4-L5")["notes"]
    assert result.vertebra("L5")["vertebra_volume_mm3"] < 0.6 * whole.vertebra("L5")["vertebra_volume_mm3"]
    assert result.disc("L4-L5")["disc_height_mm"] == pytest.approx(10.0, abs=0.3)  # the disc itself is whole


def test_the_sides_of_the_image_a_structure_reaches_are_named_in_patient_terms():
    from disccore.image import grid_edge_sides

    # index axes: 0 runs inferior (-z), 1 runs left (+x), 2 runs anterior (-y)
    direction = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    assert grid_edge_sides((0, 3, 3), (5, 8, 8), (10, 10, 10), direction) == ["superior"]
    assert grid_edge_sides((2, 0, 3), (10, 10, 8), (10, 10, 10), direction) == ["inferior", "right", "left"]
    assert grid_edge_sides((2, 3, 0), (8, 8, 10), (10, 10, 10), direction) == ["posterior", "anterior"]
    assert grid_edge_sides((1, 1, 1), (9, 9, 9), (10, 10, 10), direction) == []


def test_empty_and_unknown_names():
    geom = Geometry((20, 20, 10), spacing=(1, 1, 3))
    empty = SpatialImage(np.zeros(geom.size, np.uint8), geom)
    result = measure_segmentation(empty, {1: "L4-L5", 2: "kidney"})
    assert result.discs == [] and result.vertebrae == []
    assert any("kidney" in w for w in result.warnings)
    assert any("no disc or vertebral body" in w for w in result.warnings)


def test_unnamed_values_are_reported(stack):
    labels, names, _ = stack
    arr = labels.array.copy()
    arr[0, 0, 0] = 255
    result = measure_segmentation(SpatialImage(arr, labels.geometry), names)
    assert any("without a name" in w and "255" in w for w in result.warnings)
    assert [r["level"] for r in result.discs] == ["L4-L5"]


def test_tiny_disc_does_not_crash():
    geom = Geometry((30, 30, 30), spacing=(1, 1, 1))
    arr = np.zeros(geom.size, np.uint8)
    arr[15, 15, 15] = 1
    arr[10:12, 10, 10] = 2
    result = measure_segmentation(SpatialImage(arr, geom), {1: "L4-L5", 2: "L5-S1"})
    assert [r["level"] for r in result.discs] == ["L4-L5", "L5-S1"]
    assert result.discs[0]["disc_volume_mm3"] == pytest.approx(1.0)


def test_float_and_bool_label_arrays(stack):
    labels, names, _ = stack
    ref = measure_segmentation(labels, names).discs[0]
    as_float = SpatialImage(labels.array.astype(np.float32), labels.geometry)
    row = measure_segmentation(as_float, names).discs[0]
    assert row["disc_height_mm"] == pytest.approx(ref["disc_height_mm"])
    mask = SpatialImage(labels.array == 123, labels.geometry)
    row = measure_segmentation(mask, {1: "L4-L5"}).discs[0]
    assert row["disc_volume_mm3"] == pytest.approx(ref["disc_volume_mm3"])


def test_two_values_one_name_and_name_spellings(stack):
    labels, names, _ = stack
    arr = labels.array.astype(np.uint16)
    arr[(arr == 123) & (np.indices(arr.shape)[2] % 2 == 0)] = 7  # split the disc over two values
    row = measure_segmentation(SpatialImage(arr, labels.geometry), {**names, 123: "l4/l5", 7: "L4_L5"}).discs[0]
    ref = measure_segmentation(labels, names).discs[0]
    assert row["level"] == "L4-L5"
    assert row["disc_volume_mm3"] == pytest.approx(ref["disc_volume_mm3"])


def test_4d_labels_rejected():
    class FourD:  # SpatialImage refuses a 4D array itself; a look-alike reaches the measurement check
        array = np.zeros((4, 4, 4, 2))
        geometry = Geometry((4, 4, 4))

    with pytest.raises(ImageContentError):
        measure_segmentation(FourD(), {1: "L4-L5"})


def test_non_orthonormal_direction_rejected():
    geom = Geometry((4, 4, 4), direction=np.diag([1.0, 2.0, 1.0]))
    with pytest.raises(ImageContentError):
        measure_segmentation(SpatialImage(np.ones((4, 4, 4), np.uint8), geom), {1: "L4-L5"})


def test_progress_and_cancel(stack):
    labels, names, _ = stack
    seen = []
    measure_segmentation(labels, names, progress=lambda f, m: seen.append((f, m)))
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0
    assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:]))

    def cancel(f, m):
        if f > 0.3:
            raise Cancelled("stopped")

    with pytest.raises(Cancelled):
        measure_segmentation(labels, names, progress=cancel)


def test_narrow_canal_in_thick_slices_is_noted():
    spec = StackSpec(discs=[DiscSpec(10.0, 0.05)], tilt_deg=10.0, canal_ap=8.0, canal_lr=7.0)
    geom = make_geometry((4.4, 0.43, 0.43), "native", oblique_deg=2.0, extent_mm=105.0, phase=(0.5, 0.5, 0.5))
    labels, names, _ = build_stack(spec, geom)
    row = measure_segmentation(labels, names).discs[0]
    assert "cut by only" in row["notes"]
    assert row["canal_ap_diameter_mm"] is not None
