"""File-name suffixes and NIfTI header checks that SimpleITK does not do for us.

SimpleITK (ITK 5.4) reads a *truncated* NIfTI file without an error (the missing voxels come back as
garbage or zeros); when a NIfTI sform is skewed it silently falls back to the qform, so the image would be
placed differently than in tools that use the sform (nibabel, FSL); and a pixdim of 0 becomes 1 mm even
when the sform gives the true voxel size. All are checked here from the raw header.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ImageContentError, InputError
from .preflight import MAX_DEFLATE_RATIO, SUPPORTED_TEXT, check_claimed_size

#: compound suffixes first so '.seg.nrrd' wins over '.nrrd' and '.nii.gz' over '.gz'
KNOWN_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
WRITABLE_IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha")


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
            version = 1
            dim = struct.unpack(endian + "8h", raw[40:56])
            bitpix = struct.unpack(endian + "h", raw[72:74])[0]
            pixdim = struct.unpack(endian + "8f", raw[76:108])
            vox_offset = struct.unpack(endian + "f", raw[108:112])[0]
            sform_code = struct.unpack(endian + "h", raw[254:256])[0]
            srow = np.array(struct.unpack(endian + "12f", raw[280:328]), dtype=float).reshape(3, 4)
            single_file = raw[344:348] == b"n+1\x00"
            break
        if sizeof_hdr == 540 and len(raw) >= 540:
            version = 2
            bitpix = struct.unpack(endian + "h", raw[14:16])[0]
            dim = struct.unpack(endian + "8q", raw[16:80])
            pixdim = struct.unpack(endian + "8d", raw[104:168])
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
    sizes = [max(int(d), 1) for d in dim[1 : ndim + 1]]
    n_voxels = int(np.prod(sizes, dtype=object))  # Python ints: a forged header must not overflow
    return {
        "version": version,
        "sizes": sizes + [1] * (3 - len(sizes)),
        "pixdim": [float(v) for v in pixdim[1:4]],
        "n_voxels": n_voxels,
        "data_start": int(vox_offset) if single_file and np.isfinite(vox_offset) else None,
        "data_bytes": n_voxels * max(int(bitpix), 0) // 8,
        "sform_code": int(sform_code),
        "sform": srow,
    }


def _read_nifti_header(path: Path) -> Optional[dict]:
    try:
        with _open_nifti(path) as f:
            return _parse_nifti_header(f.read(540))
    except (EOFError, OSError, zlib.error):
        raise _damaged_nifti(path) from None


def _damaged_nifti(path: Path) -> InputError:
    return InputError(
        f"'{path.name}' could not be read: the file is damaged or not a supported image ({SUPPORTED_TEXT})"
    )


def _check_complete(path: Path, header: dict) -> None:
    """Stream through the (decompressed) data once, counting bytes: SimpleITK reads a truncated file silently."""
    if header["data_start"] is None:
        return
    needed = header["data_start"] + header["data_bytes"]
    try:
        with _open_nifti(path) as f:
            have = 0
            while have < needed:
                chunk = f.read(min(_CHUNK * 8, needed - have))
                if not chunk:
                    break
                have += len(chunk)
    except (EOFError, OSError, zlib.error):
        raise _damaged_nifti(path) from None
    if have < needed:
        raise InputError(
            f"'{path.name}' could not be read: the file is truncated (it holds {have} of {needed} bytes); "
            "copy it again from the source"
        )


def valid_sform(header: dict) -> Optional[np.ndarray]:
    """The sform's 3x3 part when the header has one that places the voxels (code > 0, finite, no zero axis)."""
    m = header["sform"][:, :3]
    if header["sform_code"] <= 0 or not np.all(np.isfinite(header["sform"])):
        return None
    return m if np.all(np.linalg.norm(m, axis=0) > 0) else None


def check_nifti(path: Path, orthonormal_tolerance: float) -> Optional[dict]:
    """Check a NIfTI file before SimpleITK reads it; return its header fields (None when it is no NIfTI).

    Refuses, in this order: NIfTI-2 (which SimpleITK cannot read), a size over the limit or beyond what the
    file can hold (from the header, before any data is decompressed), a truncated file, a skewed sform and a
    voxel size that neither pixdim nor the sform gives.
    """
    header = _read_nifti_header(path)
    if header is None:
        return None  # let SimpleITK decide; it reports its own error for non-NIfTI content
    if header["version"] == 2:
        raise InputError(
            f"'{path.name}' is a NIfTI-2 file, which this tool cannot read; save it as NIfTI-1 (.nii.gz), NRRD or MHA"
        )
    ratio = MAX_DEFLATE_RATIO if image_suffix(path) == ".nii.gz" else 1
    check_claimed_size(path.name, header["n_voxels"], header["data_bytes"], path, ratio)
    _check_complete(path, header)
    m = valid_sform(header)
    if m is not None:
        d = m / np.linalg.norm(m, axis=0)
        if not np.allclose(d.T @ d, np.eye(3), atol=orthonormal_tolerance):
            raise ImageContentError(
                "the image orientation (NIfTI sform) is skewed, not orthonormal, so positions and distances in it "
                "cannot be trusted; re-export the series from the scanner or PACS"
            )
    elif any(n > 1 and not (p > 0 and np.isfinite(p)) for n, p in zip(header["sizes"], header["pixdim"])):
        raise ImageContentError(
            f"'{path.name}' gives no voxel size (NIfTI pixdim {header['pixdim']} and no sform), so distances "
            "cannot be measured; re-export the series"
        )
    return header


def apply_nifti_sform(img, header: Optional[dict]):
    """Place a NIfTI image by its sform where ITK's spacing disagrees with it because pixdim is 0.

    ITK takes the voxel size from pixdim (a 0 becomes 1 mm) and drops an sform with 'unexpected scales';
    the NIfTI standard orders the sform to be used when its code is set. A positive pixdim that disagrees
    with the sform leaves the voxel size ambiguous and is refused.
    """
    m = valid_sform(header) if header is not None else None
    if m is None or img.GetDimension() != 3:
        return img
    norms = np.linalg.norm(m, axis=0)
    spacing = np.asarray(img.GetSpacing(), float)
    wrong = [k for k in range(3) if header["sizes"][k] > 1 and not np.isclose(spacing[k], norms[k], rtol=1e-3)]
    if not wrong:
        return img
    if any(header["pixdim"][k] > 0 for k in wrong):
        raise ImageContentError(
            f"the NIfTI header gives two voxel sizes (pixdim {tuple(np.round(spacing, 4))} mm, sform "
            f"{tuple(np.round(norms, 4))} mm), so distances cannot be trusted; re-export the series"
        )
    ras_to_lps = np.diag([-1.0, -1.0, 1.0])
    img.SetSpacing(tuple(float(v) for v in norms))
    img.SetDirection(tuple(float(v) for v in (ras_to_lps @ (m / norms)).reshape(-1)))
    img.SetOrigin(tuple(float(v) for v in ras_to_lps @ header["sform"][:, 3]))
    return img
