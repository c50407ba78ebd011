"""disccore.io: round trips that are voxel- and geometry-exact, .seg.nrrd for Slicer, DICOM series, real NIfTI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from disccore import anatomy
from disccore.errors import InputError, OutputError
from disccore.image import Geometry, SpatialImage
from disccore.io import (
    list_dicom_series,
    parse_label_spec,
    read_image,
    read_labelmap,
    sidecar_path,
    write_image,
    write_segmentation,
)


def _rotation(axis, degrees):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.deg2rad(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


OBLIQUE = _rotation([0.3, -0.5, 0.8], 23.0)
GEOMETRIES = {
    # array axes along L, P, S (ITK's natural order)
    "lps_axis_aligned": Geometry((7, 6, 5), (1.0, 1.0, 1.0), (-10.0, 20.5, -30.25), np.eye(3)),
    # array axes along R, A, S (what a RAS-ordered NIfTI holds)
    "ras_ordered": Geometry((7, 6, 5), (0.8, 0.9, 1.1), (100.0, 120.0, -40.0), np.diag([-1.0, -1.0, 1.0])),
    "oblique": Geometry((7, 6, 5), (0.7, 0.9, 1.3), (12.3, -45.6, 78.9), OBLIQUE),
    # det = -1: a sagittal stack, i -> anterior, j -> inferior, k -> right
    "left_handed": Geometry(
        (7, 6, 5), (0.5, 0.6, 3.0), (5.0, -6.0, 7.0), np.array([[0, 0, -1], [-1, 0, 0], [0, -1, 0.0]])
    ),
    "left_handed_oblique": Geometry((7, 6, 5), (0.9, 0.8, 2.0), (1.0, 2.0, 3.0), OBLIQUE @ np.diag([1.0, 1.0, -1.0])),
    "anisotropic_sagittal": Geometry(
        (6, 8, 5), (0.43, 0.43, 4.4), (-80.5, -120.25, 60.0), np.array([[0, 0, -1], [1, 0, 0], [0, -1, 0.0]])
    ),
}
IMAGE_SUFFIXES = [".nii.gz", ".nii", ".nrrd", ".mha"]


def test_geometries_are_what_they_claim():
    assert np.isclose(np.linalg.det(GEOMETRIES["left_handed"].direction), -1)
    assert np.isclose(np.linalg.det(GEOMETRIES["left_handed_oblique"].direction), -1)
    assert np.isclose(np.linalg.det(GEOMETRIES["oblique"].direction), 1)
    for g in GEOMETRIES.values():
        g.validate()


def _tol(suffix):
    # NIfTI stores the geometry in float32 (quaternion + pixdim + offset); the others in decimal doubles
    return 2e-5 if suffix.startswith(".nii") else 1e-12


def _assert_same_geometry(a: Geometry, b: Geometry, tol: float):
    assert a.size == b.size
    np.testing.assert_allclose(a.spacing, b.spacing, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.origin, b.origin, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(a.direction, b.direction, atol=tol)
    # the decisive check: every voxel lands at the same LPS point
    corners = np.array([[0, 0, 0], [a.size[0] - 1, a.size[1] - 1, a.size[2] - 1], [3, 0, 4]])
    np.testing.assert_allclose(a.index_to_lps(corners), b.index_to_lps(corners), atol=tol * 100)


def _random_image(geometry: Geometry, dtype=np.int16, seed=0) -> SpatialImage:
    rng = np.random.default_rng(seed)
    arr = rng.integers(-500, 3000, size=geometry.size).astype(dtype)
    return SpatialImage(arr, geometry)


@pytest.mark.parametrize("suffix", IMAGE_SUFFIXES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_image_round_trip_exact(tmp_path, name, suffix):
    image = _random_image(GEOMETRIES[name])
    out = write_image(image, tmp_path / f"img{suffix}")
    assert out == tmp_path / f"img{suffix}"
    back = read_image(out)
    assert back.array.dtype == np.int16
    np.testing.assert_array_equal(back.array, image.array)
    _assert_same_geometry(back.geometry, image.geometry, _tol(suffix))


def test_float_image_round_trip(tmp_path):
    g = GEOMETRIES["oblique"]
    arr = np.random.default_rng(1).normal(size=g.size).astype(np.float32)
    back = read_image(write_image(SpatialImage(arr, g), tmp_path / "f.nrrd"))
    np.testing.assert_array_equal(back.array, arr)


@pytest.mark.parametrize("name", ["ras_ordered", "left_handed", "oblique"])
def test_nifti_affine_is_ras_of_our_lps_geometry(tmp_path, name):
    """What we write is what nibabel (RAS affine) reads: affine == diag(-1,-1,1,1) @ ijk_to_lps."""
    nib = pytest.importorskip("nibabel")
    image = _random_image(GEOMETRIES[name])
    path = write_image(image, tmp_path / "a.nii.gz")
    nimg = nib.load(str(path))
    np.testing.assert_allclose(nimg.affine, image.geometry.ijk_to_ras(), atol=1e-4)
    np.testing.assert_array_equal(np.asarray(nimg.dataobj), image.array)


def test_reads_nifti_written_by_nibabel(tmp_path):
    """A RAS affine written by another tool comes back as the LPS geometry it means."""
    nib = pytest.importorskip("nibabel")
    affine = np.eye(4)
    affine[:3, :3] = OBLIQUE @ np.diag([0.43, 0.43, 4.4])
    affine[:3, 3] = [10.0, -20.0, 30.0]
    arr = np.random.default_rng(2).integers(0, 1000, size=(9, 8, 5)).astype(np.uint16)
    nib.save(nib.Nifti1Image(arr, affine), str(tmp_path / "n.nii.gz"))
    back = read_image(tmp_path / "n.nii.gz")
    np.testing.assert_array_equal(back.array, arr)
    np.testing.assert_allclose(back.geometry.ijk_to_ras(), affine, atol=1e-4)


def test_four_d_with_one_volume_is_squeezed(tmp_path):
    nib = pytest.importorskip("nibabel")
    arr = np.random.default_rng(3).integers(1, 100, size=(6, 5, 4, 1)).astype(np.int16)
    affine = np.diag([-0.5, -0.5, 3.0, 1.0])
    nib.save(nib.Nifti1Image(arr, affine), str(tmp_path / "v.nii.gz"))
    back = read_image(tmp_path / "v.nii.gz")
    assert back.array.shape == (6, 5, 4)
    np.testing.assert_array_equal(back.array, arr[..., 0])
    np.testing.assert_allclose(back.geometry.ijk_to_ras(), affine, atol=1e-6)


# --- label maps -------------------------------------------------------------------------------------


def _label_image(geometry: Geometry, values=(124, 123, 201)) -> SpatialImage:
    arr = np.zeros(geometry.size, dtype=np.uint8)
    arr[0:2, 0:3, 0:2] = values[0]
    arr[3:5, 2:4, 1:3] = values[1]
    arr[5:, 4:, 3:] = values[2]
    return SpatialImage(arr, geometry)


LABEL_SUFFIXES = [".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".mha"]


@pytest.mark.parametrize("suffix", LABEL_SUFFIXES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_segmentation_round_trip_exact(tmp_path, name, suffix):
    labels = _label_image(GEOMETRIES[name])
    written = write_segmentation(labels, tmp_path / f"seg{suffix}")
    if suffix == ".seg.nrrd":
        assert written == [tmp_path / "seg.seg.nrrd"]
    else:
        assert written == [tmp_path / f"seg{suffix}", tmp_path / "seg.json"]
        assert json.loads((tmp_path / "seg.json").read_text()) == {"123": "L4-L5", "124": "L5-S1", "201": "canal"}
    back, names = read_labelmap(written[0])
    assert names == {123: "L4-L5", 124: "L5-S1", 201: "canal"}
    np.testing.assert_array_equal(back.array, labels.array)
    assert back.array.dtype == np.uint8
    _assert_same_geometry(back.geometry, labels.geometry, _tol(suffix))


def test_seg_nrrd_opens_in_slicerio(tmp_path):
    slicerio = pytest.importorskip("slicerio")
    g = GEOMETRIES["left_handed_oblique"]
    labels = _label_image(g)
    path = write_segmentation(labels, tmp_path / "s.seg.nrrd")[0]
    seg = slicerio.read_segmentation(str(path))
    np.testing.assert_allclose(seg["ijkToLPS"], g.ijk_to_lps(), atol=1e-12)
    np.testing.assert_array_equal(seg["voxels"], labels.array)
    assert seg["masterRepresentation"] == "Binary labelmap"
    assert seg["containedRepresentationNames"] == ["Binary labelmap"]
    assert seg["referenceImageExtentOffset"] == [0, 0, 0]
    by_name = {s["name"]: s for s in seg["segments"]}
    assert sorted(by_name) == ["L4-L5", "L5-S1", "canal"]
    for name, s in by_name.items():
        st = anatomy.by_name(name)
        assert s["labelValue"] == st.label
        assert s["layer"] == 0
        assert s["id"] == name
        np.testing.assert_allclose(s["color"], st.color, atol=1e-6)
        assert s["colorAutoGenerated"] is False and s["nameAutoGenerated"] is False
        term = s["terminology"]
        assert term["contextName"] == "Segmentation category and type - 3D Slicer General Anatomy list"
        assert term["category"] == [st.category.scheme, st.category.value, st.category.meaning]
        assert term["type"] == [st.type.scheme, st.type.value, st.type.meaning]
        assert term["anatomicContextName"] == "Anatomic codes - DICOM master list"
        mask = labels.array == st.label
        idx = np.argwhere(mask)
        lo, hi = idx.min(axis=0), idx.max(axis=0)
        assert s["extent"] == [int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1]), int(lo[2]), int(hi[2])]
    # slicerio's own segment helpers find our segments
    mask = slicerio.segment_mask(seg, slicerio.segment_from_name(seg, "canal"))
    np.testing.assert_array_equal(mask.astype(bool), labels.array == 201)


def test_reads_seg_nrrd_written_by_slicerio(tmp_path):
    """Slicer-style file with arbitrary label values and spellings: names normalised, values kept."""
    slicerio = pytest.importorskip("slicerio")
    g = GEOMETRIES["anisotropic_sagittal"]
    seg = slicerio.create_segmentation(g.size, g.ijk_to_lps())
    m1 = np.zeros(g.size, bool)
    m1[1:3, 1:3, 1:3] = True
    m2 = np.zeros(g.size, bool)
    m2[3:5, 4:6, 2:4] = True
    slicerio.add_segment(seg, m1, {"name": "l4/l5", "labelValue": 1})
    slicerio.add_segment(seg, m2, {"name": "L5-S", "labelValue": 2})
    slicerio.write_segmentation(str(tmp_path / "x.seg.nrrd"), seg)
    image, names = read_labelmap(tmp_path / "x.seg.nrrd")
    assert names == {1: "L4-L5", 2: "L5-S1"}
    np.testing.assert_array_equal(image.array == 1, m1)
    np.testing.assert_array_equal(image.array == 2, m2)
    _assert_same_geometry(image.geometry, g, 1e-12)


def _write_layered_seg(path, g: Geometry, layers: np.ndarray, segments):
    nrrd = pytest.importorskip("nrrd")
    header = {
        "space": "left-posterior-superior",
        "kinds": ["list", "domain", "domain", "domain"],
        "space directions": np.vstack([[np.nan] * 3, (g.direction * g.spacing[None, :]).T]),
        "space origin": g.origin,
        "Segmentation_MasterRepresentation": "Binary labelmap",
        "Segmentation_ContainedRepresentationNames": "Binary labelmap|",
    }
    for n, (name, value, layer) in enumerate(segments):
        header[f"Segment{n}_ID"] = f"Segment_{n + 1}"
        header[f"Segment{n}_Name"] = name
        header[f"Segment{n}_LabelValue"] = str(value)
        header[f"Segment{n}_Layer"] = str(layer)
    nrrd.write(str(path), layers, header)


def test_multi_layer_seg_nrrd_is_merged(tmp_path):
    g = GEOMETRIES["oblique"]
    layers = np.zeros((2,) + g.size, np.uint8)
    layers[0, 0:2, 0:2, 0:2] = 1  # L4-L5 on layer 0, value 1
    layers[1, 4:6, 3:5, 2:4] = 1  # canal on layer 1, also value 1
    layers[0, 4:6, 0:2, 0:2] = 2  # L5-S1 on layer 0, value 2
    _write_layered_seg(tmp_path / "m.seg.nrrd", g, layers, [("L4-L5", 1, 0), ("L5-S1", 2, 0), ("canal", 1, 1)])
    image, names = read_labelmap(tmp_path / "m.seg.nrrd")
    assert names == {123: "L4-L5", 124: "L5-S1", 201: "canal"}
    np.testing.assert_array_equal(image.array == 123, layers[0] == 1)
    np.testing.assert_array_equal(image.array == 124, layers[0] == 2)
    np.testing.assert_array_equal(image.array == 201, layers[1] == 1)
    _assert_same_geometry(image.geometry, g, 1e-12)


def test_label_names_from_argument_sidecar_and_scheme(tmp_path):
    g = GEOMETRIES["ras_ordered"]
    arr = np.zeros(g.size, np.uint8)
    arr[1:3, 1:3, 1:3] = 1
    arr[4:6, 3:5, 2:4] = 2
    write_image(SpatialImage(arr, g), tmp_path / "d.nii.gz")
    expected = {1: "L5-S1", 2: "L4-L5"}
    # spec string, both orientations and loose spellings; names for absent values allowed
    assert read_labelmap(tmp_path / "d.nii.gz", labels="1=L5-S,2=l4/l5,3=L3-L4")[1] == expected
    assert read_labelmap(tmp_path / "d.nii.gz", labels="L5-S1=1; L4_L5=2")[1] == expected
    assert read_labelmap(tmp_path / "d.nii.gz", labels={1: "L5-S1", "2": "L4-L5"})[1] == expected
    (tmp_path / "names.json").write_text(json.dumps({"L5-S1": 1, "L4-L5": 2}))
    assert read_labelmap(tmp_path / "d.nii.gz", labels=str(tmp_path / "names.json"))[1] == expected
    # sidecar beside the file, flat {"value": "name"}
    (tmp_path / "d.json").write_text(json.dumps({"1": "L5-S1", "2": "L4-L5"}))
    assert sidecar_path(tmp_path / "d.nii.gz") == tmp_path / "d.json"
    image, names = read_labelmap(tmp_path / "d.nii.gz")
    assert names == expected
    np.testing.assert_array_equal(image.array, arr)
    # the argument wins over the sidecar
    assert read_labelmap(tmp_path / "d.nii.gz", labels="1=L3-L4,2=L2-L3")[1] == {1: "L3-L4", 2: "L2-L3"}
    # scheme values need no names at all
    arr2 = np.where(arr == 1, 124, np.where(arr == 2, 201, 0)).astype(np.uint8)
    write_image(SpatialImage(arr2, g), tmp_path / "s.nrrd")
    assert read_labelmap(tmp_path / "s.nrrd")[1] == {124: "L5-S1", 201: "canal"}


def test_float_label_map_with_whole_values_is_accepted(tmp_path):
    g = GEOMETRIES["lps_axis_aligned"]
    arr = _label_image(g).array.astype(np.float32)
    write_image(SpatialImage(arr, g), tmp_path / "f.nii.gz")
    image, names = read_labelmap(tmp_path / "f.nii.gz")
    assert image.array.dtype == np.uint8
    np.testing.assert_array_equal(image.array, arr.astype(np.uint8))
    assert names == {123: "L4-L5", 124: "L5-S1", 201: "canal"}


def test_parse_label_spec():
    assert parse_label_spec("1=L5-S1,2=L4-L5") == {1: "L5-S1", 2: "L4-L5"}
    assert parse_label_spec(" 51 : L5-S1 ; 102:L4-L5 ,") == {51: "L5-S1", 102: "L4-L5"}


def test_write_segmentation_custom_values_and_names(tmp_path):
    g = GEOMETRIES["oblique"]
    labels = _label_image(g, values=(1, 2, 3))
    names = {1: "l5-s", 2: "L4/L5", 3: "Canal", 9: "L1"}
    paths = write_segmentation(labels, tmp_path / "c.nii.gz", label_names=names)
    assert json.loads(paths[1].read_text()) == {"1": "L5-S1", "2": "L4-L5", "3": "canal"}
    _, back = read_labelmap(paths[0])
    assert back == {1: "L5-S1", 2: "L4-L5", 3: "canal"}
    seg = write_segmentation(labels, tmp_path / "c.seg.nrrd", label_names=names)[0]
    assert read_labelmap(seg)[1] == {1: "L5-S1", 2: "L4-L5", 3: "canal"}


def test_overwrite_replaces_both_files(tmp_path):
    g = GEOMETRIES["lps_axis_aligned"]
    write_segmentation(_label_image(g), tmp_path / "o.nii.gz")
    new = _label_image(g, values=(120, 121, 122))
    write_segmentation(new, tmp_path / "o.nii.gz", overwrite=True)
    image, names = read_labelmap(tmp_path / "o.nii.gz")
    assert names == {120: "L1-L2", 121: "L2-L3", 122: "L3-L4"}
    np.testing.assert_array_equal(image.array, new.array)
    write_image(image, tmp_path / "i.nrrd")
    write_image(SpatialImage(image.array * 0 + 5 + image.array, g), tmp_path / "i.nrrd", overwrite=True)
    assert read_image(tmp_path / "i.nrrd").array.max() == 127
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize(
    "kind, suffix",
    [
        ("write_image", ".nii.gz"),
        ("write_image", ".mha"),
        ("write_segmentation", ".nii.gz"),
        ("write_segmentation", ".mha"),
        ("write_segmentation", ".seg.nrrd"),
    ],
)
def test_existing_output_is_refused_and_untouched(tmp_path, kind, suffix):
    writer = write_image if kind == "write_image" else write_segmentation
    g = GEOMETRIES["lps_axis_aligned"]
    path = tmp_path / f"x{suffix}"
    path.write_bytes(b"original bytes")
    with pytest.raises(OutputError, match="already exists"):
        writer(_label_image(g), path)
    assert path.read_bytes() == b"original bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_existing_sidecar_is_refused_and_nothing_written(tmp_path):
    g = GEOMETRIES["lps_axis_aligned"]
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(OutputError, match="x.json"):
        write_segmentation(_label_image(g), tmp_path / "x.nii.gz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
    assert (tmp_path / "x.json").read_text() == "{}"


@pytest.mark.parametrize("suffix", [".nii.gz", ".seg.nrrd"])
def test_missing_output_folder_is_refused(tmp_path, suffix):
    g = GEOMETRIES["lps_axis_aligned"]
    target = tmp_path / "no" / "such" / f"x{suffix}"
    with pytest.raises(OutputError, match="does not exist"):
        write_segmentation(_label_image(g), target)
    with pytest.raises(OutputError, match="does not exist"):
        write_image(_random_image(g), tmp_path / "none" / "x.nii.gz")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_output_suffix(tmp_path):
    g = GEOMETRIES["lps_axis_aligned"]
    with pytest.raises(OutputError, match="ending in"):
        write_image(_random_image(g), tmp_path / "x.png")
    with pytest.raises(OutputError, match="ending in"):
        write_image(_random_image(g), tmp_path / "x.mhd")  # two files: cannot be written atomically
    with pytest.raises(OutputError, match="ending in"):
        write_segmentation(_label_image(g), tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


# --- DICOM ------------------------------------------------------------------------------------------


def _write_dicom_series(folder, image: SpatialImage, series_uid: str, number: int, description: str):
    """One file per slice, as in SimpleITK's 'DICOM series write' example (MR, int16)."""
    import SimpleITK as sitk

    from disccore.image import to_sitk

    folder.mkdir(parents=True, exist_ok=True)
    img = to_sitk(image)
    d = image.geometry.direction
    orientation = "\\".join(f"{v:.10f}" for v in (d[0, 0], d[1, 0], d[2, 0], d[0, 1], d[1, 1], d[2, 1]))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(image.geometry.size[2]):
        s = img[:, :, k]
        pos = image.geometry.index_to_lps([0, 0, k])
        tags = {
            "0008|0060": "MR",
            "0008|0016": "1.2.840.10008.5.1.4.1.1.4",
            "0008|0018": f"{series_uid}.{k + 1}",
            "0020|000d": "1.2.826.0.1.3680043.2.1125.1.99",
            "0020|000e": series_uid,
            "0020|0011": str(number),
            "0008|103e": description,
            "0020|0013": str(k + 1),
            "0020|0037": orientation,
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0018|0050": f"{image.geometry.spacing[2]:.6f}",
            "0010|0010": "Phantom^Test",
            "0010|0020": "TEST0001",
        }
        for key, value in tags.items():
            s.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"s{number}_{k:03d}.dcm"))
        writer.Execute(s)


@pytest.fixture(scope="module")
def dicom_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dicom") / "study"
    a = _random_image(
        Geometry((8, 7, 5), (0.43, 0.43, 4.4), (-30.0, 40.0, 50.0), GEOMETRIES["anisotropic_sagittal"].direction),
        seed=4,
    )
    b = _random_image(Geometry((6, 6, 4), (0.9, 0.9, 3.0), (1.5, -2.5, 3.5), OBLIQUE), seed=5)
    uid_a, uid_b = "1.2.826.0.1.3680043.2.1125.1.11", "1.2.826.0.1.3680043.2.1125.1.22"
    _write_dicom_series(folder, a, uid_a, 3, "T2 SAG")
    _write_dicom_series(folder, b, uid_b, 7, "T1 OBLIQUE")
    return folder, {uid_a: a, uid_b: b}


def test_dicom_listing(dicom_folder):
    folder, truth = dicom_folder
    listing = list_dicom_series(folder)
    assert [s.index for s in listing] == [1, 2]
    assert [s.description for s in listing] == ["T2 SAG", "T1 OBLIQUE"]  # ordered by series number 3, 7
    assert [s.n_files for s in listing] == [5, 4]
    assert [s.size for s in listing] == [(8, 7, 5), (6, 6, 4)]
    assert set(s.uid for s in listing) == set(truth)


def test_dicom_read_by_number_and_uid(dicom_folder):
    folder, truth = dicom_folder
    for s in list_dicom_series(folder):
        for choice in (s.index, str(s.index), s.uid):
            image = read_image(folder, series=choice)
            expected = truth[s.uid]
            np.testing.assert_array_equal(image.array, expected.array)
            _assert_same_geometry(image.geometry, expected.geometry, 1e-5)


def test_dicom_single_file_reads_its_series(dicom_folder):
    folder, truth = dicom_folder
    first = sorted(folder.glob("s7_*.dcm"))[0]
    image = read_image(first)
    np.testing.assert_array_equal(image.array, truth["1.2.826.0.1.3680043.2.1125.1.22"].array)


def test_dicom_several_series_need_a_choice(dicom_folder):
    folder, _ = dicom_folder
    with pytest.raises(InputError) as e:
        read_image(folder)
    msg = str(e.value)
    assert "holds 2 series" in msg and "1) T2 SAG" in msg and "2) T1 OBLIQUE" in msg and "--series" in msg
    assert "\n" not in msg
    with pytest.raises(InputError, match="not in the folder"):
        read_image(folder, series=3)
    with pytest.raises(InputError, match="not in the folder"):
        read_image(folder, series="1.2.3.4")


def test_dicom_in_sub_folder_is_found(tmp_path):
    image = _random_image(GEOMETRIES["anisotropic_sagittal"], seed=6)
    _write_dicom_series(tmp_path / "patient" / "study" / "series1", image, "1.2.826.0.1.3680043.2.1125.1.33", 1, "ONLY")
    back = read_image(tmp_path / "patient")
    np.testing.assert_array_equal(back.array, image.array)
    _assert_same_geometry(back.geometry, image.geometry, 1e-5)


# --- real data ----------------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "relpath",
    ["ivd/ivd-011_t2.nii.gz", "ivd_native_masks/ivd-011_discs_native.nii.gz", "vb2/vb2-002_img.nii.gz"],
)
def test_real_nifti_geometry_matches_nibabel(shared_data, relpath):
    nib = pytest.importorskip("nibabel")
    path = shared_data / relpath
    if not path.exists():
        pytest.skip(f"{relpath} not in the shared data")
    nimg = nib.load(str(path))
    image = read_image(path)
    np.testing.assert_allclose(image.geometry.ijk_to_ras(), nimg.affine, atol=1e-4)
    np.testing.assert_array_equal(image.array, np.asarray(nimg.dataobj))
    # RAS -> LPS: the same voxel lands at the same point either way
    ijk = np.array([3.0, 5.0, 2.0, 1.0])
    np.testing.assert_allclose(
        image.geometry.index_to_lps(ijk[:3]), (np.diag([-1, -1, 1, 1]) @ nimg.affine @ ijk)[:3], atol=1e-4
    )


@pytest.mark.shared_data
def test_real_disc_label_map_with_spec(shared_data):
    path = shared_data / "ivd" / "ivd-011_discs.nii.gz"
    if not path.exists():
        pytest.skip("ivd-011_discs.nii.gz not in the shared data")
    image, names = read_labelmap(path, labels="1=L5-S1,2=L4-L5,3=L3-L4,4=L2-L3,5=L1-L2")
    assert names == {1: "L5-S1", 2: "L4-L5", 3: "L3-L4", 4: "L2-L3", 5: "L1-L2"}
    assert image.array.dtype == np.uint8


def test_dicom_missing_slice_is_refused(tmp_path):
    from disccore.errors import ImageContentError

    image = _random_image(Geometry((6, 5, 6), (0.5, 0.5, 4.0), (0.0, 0.0, 0.0), np.eye(3)), seed=7)
    folder = tmp_path / "gap"
    _write_dicom_series(folder, image, "1.2.826.0.1.3680043.2.1125.1.44", 2, "GAP")
    (folder / "s2_002.dcm").unlink()
    with pytest.raises(ImageContentError, match="uneven slice spacing"):
        read_image(folder)


def test_dicom_mixed_orientations_are_refused(tmp_path):
    from disccore.errors import ImageContentError

    uid = "1.2.826.0.1.3680043.2.1125.1.55"
    sag = _random_image(
        Geometry((6, 5, 3), (0.5, 0.5, 4.0), (0.0, 0.0, 0.0), GEOMETRIES["anisotropic_sagittal"].direction), seed=8
    )
    ax = _random_image(Geometry((6, 5, 3), (0.5, 0.5, 4.0), (0.0, 0.0, 30.0), np.eye(3)), seed=9)
    _write_dicom_series(tmp_path / "loc", sag, uid, 1, "LOCALIZER")
    for f in (tmp_path / "loc").glob("*.dcm"):
        f.rename(f.with_name("a_" + f.name))
    _write_dicom_series(tmp_path / "loc", ax, uid, 1, "LOCALIZER")
    with pytest.raises(ImageContentError, match="mixes slice orientations"):
        read_image(tmp_path / "loc")


@pytest.mark.mrml
def test_seg_nrrd_opens_in_slicer_storage_node(tmp_path):
    """3D Slicer's own reader (vtkMRMLSegmentationStorageNode from slicer-core) gets names, colours,
    values, terminology, voxels and the IJK->RAS geometry."""
    slicer = pytest.importorskip("slicer")
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    g = GEOMETRIES["left_handed_oblique"]
    labels = _label_image(g)
    path = write_segmentation(labels, tmp_path / "s.seg.nrrd")[0]
    scene = slicer.vtkMRMLScene()
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    node.SetAndObserveStorageNodeID(storage.GetID())
    storage.SetFileName(str(path))
    assert storage.ReadData(node) == 1
    segmentation = node.GetSegmentation()
    assert segmentation.GetNumberOfSegments() == 3
    for n in range(3):
        segment = segmentation.GetNthSegment(n)
        st = anatomy.by_name(segment.GetName())
        assert segmentation.GetNthSegmentID(n) == st.name
        assert segment.GetLabelValue() == st.label
        np.testing.assert_allclose(segment.GetColor(), st.color, atol=1e-6)
        tag = vtk.mutable("")
        assert segment.GetTag("TerminologyEntry", tag)
        assert f"~SCT^{st.type.value}^{st.type.meaning}~" in str(tag)
        lm = segment.GetRepresentation("Binary labelmap")
        m = vtk.vtkMatrix4x4()
        lm.GetImageToWorldMatrix(m)
        ijk_to_ras = np.array([[m.GetElement(r, c) for c in range(4)] for r in range(4)])
        np.testing.assert_allclose(ijk_to_ras, g.ijk_to_ras(), atol=1e-9)
        i0, i1, j0, j1, k0, k1 = lm.GetExtent()
        vox = (
            vtk_to_numpy(lm.GetPointData().GetScalars())
            .reshape(k1 - k0 + 1, j1 - j0 + 1, i1 - i0 + 1)
            .transpose(2, 1, 0)
        )
        inside = np.zeros(g.size, bool)
        inside[i0 : i1 + 1, j0 : j1 + 1, k0 : k1 + 1] = vox == st.label
        np.testing.assert_array_equal(inside, labels.array == st.label)


@pytest.mark.parametrize("suffix", [".nhdr", ".mhd"])
def test_reads_detached_header_formats(tmp_path, suffix):
    import SimpleITK as sitk

    from disccore.image import to_sitk

    image = _random_image(GEOMETRIES["oblique"], seed=10)
    sitk.WriteImage(to_sitk(image), str(tmp_path / f"d{suffix}"))
    assert len(list(tmp_path.iterdir())) == 2  # header + data file
    back = read_image(tmp_path / f"d{suffix}")
    np.testing.assert_array_equal(back.array, image.array)
    _assert_same_geometry(back.geometry, image.geometry, 1e-12)
