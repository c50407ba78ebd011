"""Read and write 3D images with exact physical geometry (LPS mm) through SimpleITK.

SimpleITK converts every format's own convention to LPS (NIfTI's RAS qform/sform, NRRD's ``space``,
DICOM's patient coordinates), so a :class:`~disccore.image.SpatialImage` read here is placed exactly
as the file says, oblique and left-handed directions included.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import ImageContentError, InputError, OutputError
from ..image import ORTHONORMAL_TOLERANCE, SpatialImage, from_sitk, to_sitk
from ..outputs import atomic_output, check_output_path
from ._formats import SUPPORTED_TEXT, WRITABLE_IMAGE_SUFFIXES, apply_nifti_sform, check_nifti, image_suffix
from .dicom import choose_series, read_dicom_series
from .preflight import check_claimed_size, check_path_kind, data_layout, pixel_bytes, quiet_native_output

PathLike = Union[str, os.PathLike]

_ORTHONORMAL_MESSAGE = (
    "the image orientation (direction matrix) is not orthonormal, so positions and distances in it "
    "cannot be trusted; re-export the series from the scanner or PACS"
)
_DICOM_FILE_SUFFIXES = (".dcm", ".ima", ".dicom")


def _damaged(path: Path) -> InputError:
    return InputError(
        f"'{path.name}' could not be read: the file is damaged or not a supported image ({SUPPORTED_TEXT})"
    )


def read_sitk_file(path: Path):
    """Read a file with SimpleITK, turning its errors into one-line InputError / ImageContentError.

    Before any voxel data is read: the path must be a regular file (so must a detached data file), and the
    size the header claims must fit the voxel limit and the bytes on disk (see :mod:`.preflight`).
    """
    import SimpleITK as sitk

    check_path_kind(path)
    suffix = image_suffix(path)
    nifti = check_nifti(path, ORTHONORMAL_TOLERANCE) if suffix in (".nii", ".nii.gz") else None
    try:
        data_file, ratio = data_layout(path, suffix)
    except OSError:
        raise _damaged(path) from None
    if data_file != path:
        check_path_kind(data_file, "data file")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        with quiet_native_output():
            reader.ReadImageInformation()
        n_voxels = int(np.prod(reader.GetSize(), dtype=object))
        n_values = n_voxels * max(int(reader.GetNumberOfComponents()), 1)
        check_claimed_size(path.name, n_values, n_voxels * pixel_bytes(reader), data_file, ratio)
        with quiet_native_output():
            img = reader.Execute()
    except RuntimeError as e:
        text = str(e).lower()
        if "orthonormal" in text or "singular" in text or "direction" in text:
            raise ImageContentError(_ORTHONORMAL_MESSAGE) from None
        if "zero-valued spacing" in text:
            raise ImageContentError(
                f"'{path.name}' gives a voxel size of 0 (or none), so distances cannot be "
                "measured; re-export the series"
            ) from None
        raise _damaged(path) from None
    return apply_nifti_sform(img, nifti)


def _nifti_without_orientation(img) -> bool:
    keys = set(img.GetMetaDataKeys())
    if "qform_code" not in keys or "sform_code" not in keys:
        return False
    try:
        return int(img.GetMetaData("qform_code")) == 0 and int(img.GetMetaData("sform_code")) == 0
    except ValueError:  # pragma: no cover - SimpleITK writes names like 'NIFTI_XFORM_UNKNOWN' in some versions
        return "UNKNOWN" in img.GetMetaData("qform_code") and "UNKNOWN" in img.GetMetaData("sform_code")


def as_3d_scalar(img, what: str = "image"):
    """Return a 3D single-component SimpleITK image, or raise ImageContentError saying why it is not one.

    A 4th dimension of size 1 is dropped; 2D images, single-slice 3D images, real 4D series and
    vector / colour pixels are refused.
    """
    import SimpleITK as sitk

    dim = img.GetDimension()
    size = img.GetSize()
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise ImageContentError(
            f"the {what} has {img.GetNumberOfComponentsPerPixel()} values per voxel (a colour, vector or "
            "multi-component image); give a single greyscale 3D volume"
        )
    if dim == 4:
        if size[3] == 1:
            try:
                img = sitk.Extract(img, (size[0], size[1], size[2], 0), (0, 0, 0, 0))
            except RuntimeError:
                raise ImageContentError(
                    f"the {what} has a 4th dimension whose orientation mixes with space; give one 3D volume"
                ) from None
        else:
            raise ImageContentError(
                f"the {what} is 4D ({size[3]} volumes, e.g. a time series or multi-echo); give one 3D volume"
            )
    elif dim not in (2, 3):
        raise ImageContentError(f"the {what} has {dim} dimensions; a 3D volume is needed")
    if dim == 2 or sum(s > 1 for s in img.GetSize()) <= 2:
        raise ImageContentError(f"the {what} is 2D; a 3D sagittal series is needed")
    return img


def sitk_to_spatial(img, what: str = "image") -> SpatialImage:
    """3D-check, convert and validate the geometry (orthonormal direction, positive spacing)."""
    img = as_3d_scalar(img, what)
    image = from_sitk(img)
    image.geometry.validate()
    return image


def read_image(path: PathLike, series: Union[int, str, None] = None) -> SpatialImage:
    """Read a 3D image: NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd) or a DICOM folder.

    The result's geometry is in LPS mm (see :mod:`disccore.image`). For a DICOM folder with several
    series, ``series`` picks one by its 1-based number in :func:`list_dicom_series` or by its UID; a
    single DICOM file stands for its whole series.

    Raises InputError (missing path, unreadable or truncated file, several DICOM series and none chosen)
    or ImageContentError (2D, 4D, colour/vector pixels, all voxels equal, non-orthonormal orientation).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"the image '{p}' does not exist")
    check_path_kind(p, "image")
    if p.is_dir():
        img = read_dicom_series(choose_series(p, series))
    elif p.suffix.lower() in _DICOM_FILE_SUFFIXES or (p.suffix == "" and _is_dicom_file(p)):
        img = _read_dicom_file_series(p)
    else:
        img = read_sitk_file(p)
        if image_suffix(p) in (".nii", ".nii.gz") and _nifti_without_orientation(img):
            warnings.warn(
                f"'{p.name}' stores no orientation (NIfTI qform and sform codes are 0); left/right and "
                "anterior/posterior may be wrong",
                stacklevel=2,
            )
    image = sitk_to_spatial(img, "image")
    arr = image.array
    finite = np.isfinite(arr) if arr.dtype.kind == "f" else None
    if finite is not None and not finite.any():
        raise ImageContentError("the image holds no numbers (every voxel is NaN or infinite)")
    lo = np.min(arr, where=finite, initial=np.inf) if finite is not None else arr.min()
    hi = np.max(arr, where=finite, initial=-np.inf) if finite is not None else arr.max()
    if lo == hi:
        what = "empty (every voxel is 0)" if lo == 0 else f"constant (every voxel is {lo:g})"
        raise ImageContentError(f"the image is {what}; it holds no picture to segment")
    return image


def _is_dicom_file(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(132)
        return len(head) == 132 and head[128:132] == b"DICM"
    except OSError:
        return False


def _read_dicom_file_series(p: Path):
    """A single DICOM file given: read the series it belongs to from its folder."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    try:
        with quiet_native_output():
            reader.ReadImageInformation()
        uid = reader.GetMetaData("0020|000e").strip() if reader.HasMetaDataKey("0020|000e") else ""
    except RuntimeError:
        raise _damaged(p) from None
    if uid:
        return read_dicom_series(choose_series(p.parent, uid))
    return read_sitk_file(p)


def write_image(image: SpatialImage, path: PathLike, overwrite: bool = False) -> Path:
    """Write a SpatialImage as .nii.gz, .nii, .nrrd or .mha (geometry exact; NIfTI stores it in float32).

    Refuses an existing file unless ``overwrite``; never leaves a partial file (see :mod:`disccore.outputs`).
    """
    import SimpleITK as sitk

    p = Path(path)
    suffix = image_suffix(p)
    if suffix not in WRITABLE_IMAGE_SUFFIXES:
        raise OutputError(f"cannot write '{p.name}': give a file name ending in {', '.join(WRITABLE_IMAGE_SUFFIXES)}")
    check_output_path(p, overwrite)
    img = to_sitk(image)
    with atomic_output(p, overwrite) as tmp:
        try:
            sitk.WriteImage(img, str(tmp), True)
        except RuntimeError:
            raise OutputError(f"'{p}' could not be written (disk full or no permission?)") from None
    return p
