"""File-name suffixes and NIfTI header checks that SimpleITK does not do for us.

SimpleITK (ITK 5.4) reads a *truncated* NIfTI file without an error (the missing voxels come back as
garbage or zeros), and when a NIfTI sform is skewed it silently falls back to the qform, so the
image would be placed differently than in tools that use the sform (nibabel, FSL). Both are checked
here from the raw header, with the standard library only.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ImageContentError, InputError

#: compound suffixes first so '.seg.nrrd' wins over '.nrrd' and '.nii.gz' over '.gz'
KNOWN_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
WRITABLE_IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha")
SUPPORTED_TEXT = "NIfTI, NRRD, MHA or DICOM"


def image_suffix(path) -> str:
    """The (possibly compound) image suffix of a path, lower case: '.nii.gz', '.seg.nrrd', '.nrrd', ... or ''."""
    name = Path(path).name.lower()
    for s in KNOWN_SUFFIXES:
        if name.endswith(s):
            return s
    return Path(name).suffix


def strip_suffix(path) -> Path:
    """The path without its image suffix: 'a/X.nii.gz' -> 'a/X'."""
    p = Path(path)
    suffix = image_suffix(p)
    return p.with_name(p.name[: len(p.name) - len(suffix)] if suffix else p.name)


def sidecar_path(path) -> Path:
    """The JSON sidecar that names the labels of a label map: 'X.nii.gz' -> 'X.json'."""
    p = strip_suffix(path)
    return p.with_name(p.name + ".json")


# --- NIfTI header checks ---------------------------------------------------------------------

_CHUNK = 1 << 20


def _open_nifti(path: Path):
    if image_suffix(path) == ".nii.gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _parse_nifti_header(raw: bytes) -> Optional[dict]:
    """Fields we need from a NIfTI-1 or NIfTI-2 header, or None when it is not one."""
    if len(raw) < 348:
        return None
    for endian in "<>":
        (sizeof_hdr,) = struct.unpack(endian + "i", raw[:4])
        if sizeof_hdr == 348:
            dim = struct.unpack(endian + "8h", raw[40:56])
            bitpix = struct.unpack(endian + "h", raw[72:74])[0]
            vox_offset = struct.unpack(endian + "f", raw[108:112])[0]
            sform_code = struct.unpack(endian + "h", raw[254:256])[0]
            srow = np.array(struct.unpack(endian + "12f", raw[280:328]), dtype=float).reshape(3, 4)
            single_file = raw[344:348] == b"n+1\x00"
            break
        if sizeof_hdr == 540 and len(raw) >= 540:
            bitpix = struct.unpack(endian + "h", raw[14:16])[0]
            dim = struct.unpack(endian + "8q", raw[16:80])
            vox_offset = struct.unpack(endian + "q", raw[168:176])[0]
            sform_code = struct.unpack(endian + "i", raw[348:352])[0]
            srow = np.array(struct.unpack(endian + "12d", raw[400:496]), dtype=float).reshape(3, 4)
            single_file = raw[4:8] == b"n+2\x00"
            break
    else:
        return None
    ndim = int(dim[0])
    if not 1 <= ndim <= 7:
        return None
    n_voxels = int(np.prod([max(int(d), 1) for d in dim[1 : ndim + 1]], dtype=np.int64))
    return {
        "data_start": int(vox_offset) if single_file else None,
        "data_bytes": n_voxels * max(int(bitpix), 0) // 8,
        "sform_code": int(sform_code),
        "sform": srow,
    }


def check_nifti(path: Path, orthonormal_tolerance: float) -> None:
    """Raise InputError for a truncated NIfTI file, ImageContentError for a skewed sform.

    Reads the header and streams through the (decompressed) data once, counting bytes.
    """
    try:
        with _open_nifti(path) as f:
            raw = f.read(540)
            header = _parse_nifti_header(raw)
            if header is None:
                return  # let SimpleITK decide; it reports its own error for non-NIfTI content
            if header["data_start"] is not None:
                needed = header["data_start"] + header["data_bytes"]
                have = len(raw)
                while have < needed:
                    chunk = f.read(min(_CHUNK * 8, needed - have))
                    if not chunk:
                        break
                    have += len(chunk)
                if have < needed:
                    raise InputError(
                        f"'{path.name}' could not be read: the file is truncated (it holds {have} of {needed} bytes); "
                        "copy it again from the source"
                    )
    except (EOFError, OSError, zlib.error) as e:
        raise InputError(
            f"'{path.name}' could not be read: the file is damaged or not a supported image ({SUPPORTED_TEXT})"
        ) from None
    if header["sform_code"] > 0:
        m = header["sform"][:, :3]
        norms = np.linalg.norm(m, axis=0)
        if np.all(np.isfinite(m)) and np.all(norms > 0):
            d = m / norms
            if not np.allclose(d.T @ d, np.eye(3), atol=orthonormal_tolerance):
                raise ImageContentError(
                    "the image orientation (NIfTI sform) is skewed, not orthonormal, so positions and distances in it "
                    "cannot be trusted; re-export the series from the scanner or PACS"
                )
