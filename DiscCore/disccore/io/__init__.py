"""Reading and writing images and label maps with exact physical geometry (LPS mm).

- :func:`read_image` — NIfTI, NRRD, MetaImage or a DICOM folder -> validated 3D SpatialImage.
- :func:`list_dicom_series` — the series of a DICOM folder, numbered from 1.
- :func:`read_labelmap` — a label map (.seg.nrrd, or NIfTI/NRRD/MHA named by --labels, a JSON sidecar
  or the anatomy scheme) -> (SpatialImage, {value: scheme segment name}).
- :func:`write_segmentation` — .seg.nrrd for 3D Slicer, or a label map + JSON sidecar.
- :func:`write_image` — .nii.gz, .nii, .nrrd or .mha.

All SimpleITK work happens here; SimpleITK is imported inside the functions so ``import disccore.io``
stays cheap. Errors are one-line :mod:`disccore.errors` exceptions.
"""

from ._formats import sidecar_path
from .dicom import DicomSeries, list_dicom_series
from .images import read_image, write_image
from .labels import parse_label_spec, read_labelmap, write_segmentation

__all__ = [
    "DicomSeries",
    "list_dicom_series",
    "parse_label_spec",
    "read_image",
    "read_labelmap",
    "sidecar_path",
    "write_image",
    "write_segmentation",
]
