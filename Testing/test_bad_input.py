"""Library-level bad input: every case raises the right typed error with a clear one-line message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from disccore.errors import ImageContentError, InputError, LabelError
from disccore.image import Geometry, SpatialImage
from disccore.io import read_image, read_labelmap, write_image, write_segmentation

SKEWED = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])


def _one_line(excinfo) -> str:
    msg = str(excinfo.value)
    assert msg and "\n" not in msg
    return msg


def _image(size=(6, 5, 4), dtype=np.int16, seed=0) -> SpatialImage:
    arr = np.random.default_rng(seed).integers(1, 1000, size=size).astype(dtype)
    return SpatialImage(arr, Geometry(size, (0.5, 0.5, 3.0), (1.0, 2.0, 3.0), np.eye(3)))


def _nifti(path, arr, affine=None):
    nib = pytest.importorskip("nibabel")
    nib.save(nib.Nifti1Image(arr, np.diag([0.5, 0.5, 3.0, 1.0]) if affine is None else affine), str(path))
    return path


# --- paths and damaged files -------------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(InputError) as e:
        read_image(tmp_path / "nope.nii.gz")
    assert "does not exist" in _one_line(e)
    with pytest.raises(InputError, match="does not exist"):
        read_labelmap(tmp_path / "nope.seg.nrrd")


@pytest.mark.parametrize("name", ["junk.nii.gz", "junk.nrrd", "junk.mha", "junk.txt"])
def test_not_an_image(tmp_path, name):
    (tmp_path / name).write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(InputError) as e:
        read_image(tmp_path / name)
    msg = _one_line(e)
    assert "could not be read" in msg and "damaged or not a supported image" in msg and "NIfTI" in msg
    assert not isinstance(e.value, ImageContentError)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_truncated_file(tmp_path, suffix):
    """SimpleITK reads a truncated NIfTI silently; we must not."""
    path = write_image(_image((20, 18, 6)), tmp_path / f"t{suffix}")
    data = path.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError) as e:
        read_image(cut)
    msg = _one_line(e)
    assert "could not be read" in msg
    assert ("truncated" in msg) or ("damaged" in msg)


def test_truncated_label_map(tmp_path):
    labels = SpatialImage(np.full((20, 18, 6), 124, np.uint8), Geometry((20, 18, 6)))
    path = write_segmentation(labels, tmp_path / "l.nii")[0]
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(InputError, match="truncated"):
        read_labelmap(path)


# --- content --------------------------------------------------------------------------------------------


def test_2d_image(tmp_path):
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(np.arange(30, dtype=np.int16).reshape(5, 6)), str(tmp_path / "a.nrrd"))
    with pytest.raises(ImageContentError) as e:
        read_image(tmp_path / "a.nrrd")
    assert _one_line(e) == "the image is 2D; a 3D sagittal series is needed"


def test_single_slice_3d_is_2d(tmp_path):
    _nifti(tmp_path / "s.nii.gz", np.arange(30, dtype=np.int16).reshape(5, 6, 1))
    with pytest.raises(ImageContentError, match="2D; a 3D sagittal series is needed"):
        read_image(tmp_path / "s.nii.gz")


def test_4d_image(tmp_path):
    _nifti(tmp_path / "f.nii.gz", np.arange(360, dtype=np.int16).reshape(6, 5, 4, 3))
    with pytest.raises(ImageContentError) as e:
        read_image(tmp_path / "f.nii.gz")
    msg = _one_line(e)
    assert "4D" in msg and "give one 3D volume" in msg


@pytest.mark.parametrize("value", [0, 7])
def test_constant_image(tmp_path, value):
    img = _image()
    write_image(SpatialImage(np.full(img.array.shape, value, np.int16), img.geometry), tmp_path / "c.nii.gz")
    with pytest.raises(ImageContentError) as e:
        read_image(tmp_path / "c.nii.gz")
    msg = _one_line(e)
    assert ("empty" in msg) if value == 0 else ("constant" in msg)


def test_all_nan_image(tmp_path):
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(np.full((5, 5, 5), np.nan, np.float32)), str(tmp_path / "n.nrrd"))
    with pytest.raises(ImageContentError, match="NaN"):
        read_image(tmp_path / "n.nrrd")


def test_vector_image(tmp_path):
    import SimpleITK as sitk

    rgb = sitk.GetImageFromArray(
        np.random.default_rng(0).integers(0, 255, (4, 5, 6, 3)).astype(np.uint8), isVector=True
    )
    for name in ("rgb.nrrd", "rgb.mha"):
        sitk.WriteImage(rgb, str(tmp_path / name))
        with pytest.raises(ImageContentError) as e:
            read_image(tmp_path / name)
        assert "3 values per voxel" in _one_line(e)


def test_non_orthonormal_nifti_refused_by_simpleitk(tmp_path):
    """sform skewed, no usable qform: SimpleITK itself refuses; the user still gets our message."""
    affine = np.eye(4)
    affine[:3, :3] = SKEWED
    _nifti(tmp_path / "k.nii.gz", np.random.default_rng(0).random((5, 6, 7)).astype(np.float32), affine)
    with pytest.raises(ImageContentError) as e:
        read_image(tmp_path / "k.nii.gz")
    assert "not orthonormal" in _one_line(e)


def test_non_orthonormal_nifti_sform_with_valid_qform(tmp_path):
    """SimpleITK would silently use the qform and place the image elsewhere than nibabel/FSL do."""
    nib = pytest.importorskip("nibabel")
    im = nib.Nifti1Image(np.random.default_rng(0).random((5, 6, 7)).astype(np.float32), None)
    im.set_qform(np.diag([1.0, 1.0, 2.0, 1.0]), code=1)
    skew = np.eye(4)
    skew[:3, :3] = SKEWED
    im.set_sform(skew, code=1)
    nib.save(im, str(tmp_path / "q.nii.gz"))
    with pytest.raises(ImageContentError) as e:
        read_image(tmp_path / "q.nii.gz")
    assert "not orthonormal" in _one_line(e)


def test_non_orthonormal_nrrd(tmp_path):
    """SimpleITK reads a skewed NRRD and normalises each column; Geometry.validate() catches it."""
    nrrd = pytest.importorskip("nrrd")
    arr = np.random.default_rng(0).random((5, 6, 7)).astype(np.float32)
    nrrd.write(
        str(tmp_path / "k.nrrd"),
        arr,
        {"space": "left-posterior-superior", "space directions": SKEWED.T, "space origin": np.zeros(3)},
    )
    with pytest.raises(ImageContentError) as e:
        read_image(tmp_path / "k.nrrd")
    assert "not orthonormal" in _one_line(e)
    with pytest.raises(ImageContentError, match="not orthonormal"):
        read_labelmap(tmp_path / "k.nrrd")


def test_nifti_without_orientation_warns(tmp_path):
    nib = pytest.importorskip("nibabel")
    im = nib.Nifti1Image(np.arange(120, dtype=np.int16).reshape(4, 5, 6), None)
    im.set_qform(None, code=0)
    im.set_sform(None, code=0)
    nib.save(im, str(tmp_path / "u.nii.gz"))
    with pytest.warns(UserWarning, match="no orientation"):
        read_image(tmp_path / "u.nii.gz")


# --- DICOM folders ---------------------------------------------------------------------------------------


def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError) as e:
        read_image(tmp_path)
    assert "holds no DICOM series" in _one_line(e)


# --- label maps ----------------------------------------------------------------------------------------------


def _labels(tmp_path, arr, name="l.nii.gz"):
    g = Geometry(arr.shape, (0.5, 0.5, 3.0), (0.0, 0.0, 0.0), np.eye(3))
    return write_image(SpatialImage(arr, g), tmp_path / name)


def _two_blobs(values=(1, 2), dtype=np.uint8):
    arr = np.zeros((6, 5, 4), dtype)
    arr[0:2, 0:2, 0:2] = values[0]
    arr[3:5, 2:4, 1:3] = values[1]
    return arr


def test_fractional_label_values(tmp_path):
    arr = _two_blobs(dtype=np.float32)
    arr[5, 4, 3] = 0.5
    path = _labels(tmp_path, arr)
    with pytest.raises(LabelError) as e:
        read_labelmap(path, labels="1=L5-S1,2=L4-L5")
    assert "fractional" in _one_line(e)


def test_negative_label_values(tmp_path):
    arr = _two_blobs(dtype=np.int16)
    arr[5, 4, 3] = -3
    with pytest.raises(LabelError, match="negative"):
        read_labelmap(_labels(tmp_path, arr), labels="1=L5-S1,2=L4-L5")


def test_unnamed_non_scheme_values(tmp_path):
    path = _labels(tmp_path, _two_blobs())
    with pytest.raises(LabelError) as e:
        read_labelmap(path)
    msg = _one_line(e)
    assert "no names" in msg and "--labels" in msg and "l.json" in msg


def test_value_left_unnamed(tmp_path):
    path = _labels(tmp_path, _two_blobs())
    with pytest.raises(LabelError) as e:
        read_labelmap(path, labels="1=L5-S1")
    msg = _one_line(e)
    assert "label values 2" in msg and "no name" in msg


def test_unknown_name_lists_known_names(tmp_path):
    path = _labels(tmp_path, _two_blobs())
    with pytest.raises(LabelError) as e:
        read_labelmap(path, labels="1=L5-S1,2=kidney")
    msg = _one_line(e)
    assert "'kidney'" in msg and "L4-L5" in msg and "canal" in msg


def test_same_name_twice(tmp_path):
    path = _labels(tmp_path, _two_blobs())
    with pytest.raises(LabelError, match="both named L4-L5"):
        read_labelmap(path, labels="1=L4-L5,2=l4/l5")


@pytest.mark.parametrize("spec", ["1-L5-S1", "=", "1=2", "L5-S1=L4-L5", ""])
def test_bad_label_spec(tmp_path, spec):
    path = _labels(tmp_path, _two_blobs())
    with pytest.raises(LabelError):
        read_labelmap(path, labels=spec or " , ")


def test_bad_sidecar_json(tmp_path):
    path = _labels(tmp_path, _two_blobs())
    (tmp_path / "l.json").write_text("{not json")
    with pytest.raises(LabelError, match="not valid JSON"):
        read_labelmap(path)
    (tmp_path / "l.json").write_text(json.dumps(["L5-S1", "L4-L5"]))
    with pytest.raises(LabelError, match="expected a JSON object"):
        read_labelmap(path)


def test_missing_labels_file(tmp_path):
    path = _labels(tmp_path, _two_blobs())
    with pytest.raises(InputError, match="does not exist"):
        read_labelmap(path, labels=str(tmp_path / "names.json"))


def test_empty_label_map(tmp_path):
    path = _labels(tmp_path, np.zeros((6, 5, 4), np.uint8))
    with pytest.raises(LabelError, match="empty"):
        read_labelmap(path)


def test_overlapping_seg_layers(tmp_path):
    nrrd = pytest.importorskip("nrrd")
    layers = np.zeros((2, 6, 5, 4), np.uint8)
    layers[0, 0:3, 0:3, 0:3] = 1
    layers[1, 2:5, 2:5, 2:4] = 1
    header = {
        "space": "left-posterior-superior",
        "kinds": ["list", "domain", "domain", "domain"],
        "space directions": np.vstack([[np.nan] * 3, np.eye(3)]),
        "space origin": np.zeros(3),
        "Segment0_Name": "L4",
        "Segment0_LabelValue": "1",
        "Segment0_Layer": "0",
        "Segment1_Name": "L4-L5",
        "Segment1_LabelValue": "1",
        "Segment1_Layer": "1",
    }
    nrrd.write(str(tmp_path / "o.seg.nrrd"), layers, header)
    with pytest.raises(LabelError) as e:
        read_labelmap(tmp_path / "o.seg.nrrd")
    msg = _one_line(e)
    assert "overlap" in msg and "L4" in msg and "L4-L5" in msg


def test_seg_nrrd_with_unknown_segment_name(tmp_path):
    slicerio = pytest.importorskip("slicerio")
    seg = slicerio.create_segmentation((6, 5, 4), np.eye(4))
    mask = np.zeros((6, 5, 4), bool)
    mask[1:3, 1:3, 1:3] = True
    slicerio.add_segment(seg, mask, {"name": "Tumor", "labelValue": 1})
    slicerio.write_segmentation(str(tmp_path / "t.seg.nrrd"), seg)
    with pytest.raises(LabelError, match="'Tumor' is not a structure"):
        read_labelmap(tmp_path / "t.seg.nrrd")


def test_write_segmentation_unnamed_value(tmp_path):
    arr = _two_blobs(values=(124, 7))
    with pytest.raises(LabelError, match="label values 7"):
        write_segmentation(SpatialImage(arr, Geometry(arr.shape)), tmp_path / "w.seg.nrrd")
    assert list(tmp_path.iterdir()) == []


def test_write_segmentation_fractional(tmp_path):
    arr = _two_blobs(values=(124, 123)).astype(np.float32)
    arr[0, 0, 0] = 1.5
    with pytest.raises(LabelError, match="fractional"):
        write_segmentation(SpatialImage(arr, Geometry(arr.shape)), tmp_path / "w.nii.gz")
    assert list(tmp_path.iterdir()) == []
