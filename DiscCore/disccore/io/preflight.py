"""Checks made before an image file is read: what the path is, and how big its header says the image is.

A header is cheap to forge: 116 bytes can claim 1500^3 voxels, and ITK then allocates gigabytes before it
notices the data is missing. So the size a header claims is checked against a voxel limit (users may raise
it with DISCCORE_MAX_VOXELS) and against the bytes actually on disk (a gzip stream cannot expand more than
about 1032:1) before any data is read. Pipes, sockets and devices are refused before they are opened: reading
a FIFO blocks forever and /dev/zero never ends.

The libraries' own console lines (ITK, GDCM, MetaImage print to the process's stderr) are silenced with
:func:`quiet_native_output`; the errors raised here say what went wrong in one line instead.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from ..errors import ImageContentError, InputError

SUPPORTED_TEXT = "NIfTI, NRRD, MHA or DICOM"
MAX_VOXELS_ENV = "DISCCORE_MAX_VOXELS"
#: 2^27 voxels (e.g. 512 x 512 x 512): far above any lumbar MRI, and still a few GB for the model's steps
DEFAULT_MAX_VOXELS = 1 << 27
#: deflate's best case is about 1032:1; a gzip/zlib stream claiming more than this is truncated or forged
MAX_DEFLATE_RATIO = 1100
_HEADER_READ_BYTES = 1 << 16
#: SimpleITK reads images of at most 5 dimensions
MAX_DIMENSIONS = 5
_BITS = re.compile(r"(\d+)-bit")


def max_voxels() -> int:
    """The largest image (voxels x components) accepted: $DISCCORE_MAX_VOXELS, or DEFAULT_MAX_VOXELS."""
    text = os.environ.get(MAX_VOXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_VOXELS
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"{MAX_VOXELS_ENV}='{text}' is not a positive whole number of voxels")
    return value


def check_path_kind(path: Path, what: str = "input") -> None:
    """Refuse a path that is neither a regular file nor a folder (FIFO, socket, device) before opening it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise InputError(f"the {what} '{path}' could not be opened ({e.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise InputError(
            f"the {what} '{path}' is not a regular file or folder (a pipe, socket or device); give an image file"
        )
    try:  # a regular file or folder opens at once; say 'permission denied' rather than 'damaged' later
        if stat.S_ISDIR(mode):
            os.scandir(path).close()
        else:
            open(path, "rb").close()
    except OSError as e:
        raise InputError(f"the {what} '{path}' could not be opened ({e.strerror})") from None


@contextmanager
def quiet_native_output() -> Iterator[None]:
    """Silence what ITK, GDCM and MetaImage print to the process's stderr (fd 2) while reading.

    Their lines would come before our one-line error (or alone, for warnings we check ourselves).
    """
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2 (e.g. some embedded interpreters)
        yield
        return
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(sink, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


# --- detached data files and encodings from the text headers of NRRD and MetaImage -----------------------


def _text_header_fields(path: Path, separator: str, last_key: Optional[str]) -> dict[str, str]:
    """'key<sep>value' lines of a text header (lower-case keys) until a blank line or ``last_key``."""
    with open(path, "rb") as f:
        head = f.read(_HEADER_READ_BYTES)
    fields: dict[str, str] = {}
    for raw in head.split(b"\n"):
        line = raw.decode("latin-1").strip()
        if not line:
            break
        if line.startswith("#") or separator not in line:
            continue
        key, value = line.split(separator, 1)
        key = key.strip().lower()
        fields.setdefault(key, value.strip())
        if key == last_key:
            break
    return fields


def _data_file(header: Path, name: str) -> Optional[Path]:
    """The one detached data file a header names, or None (data in the header file, or a list/pattern of files)."""
    name = name.strip()
    if not name or name.upper() in ("LOCAL", "LIST") or name.upper().startswith("LIST") or "%" in name or " " in name:
        return None
    p = Path(name)
    return p if p.is_absolute() else header.parent / p


def _check_dimensions(path: Path, fields: dict, ndim_key: str, sizes_key: str) -> None:
    """The dimension count and sizes must be sane before ITK parses them (MetaIO corrupts its heap on NDims = 93)."""
    try:
        ndim = int(fields.get(ndim_key, ""))
        sizes = [int(v) for v in fields.get(sizes_key, "").split()]
    except ValueError:
        ndim, sizes = 0, []
    if not 1 <= ndim <= MAX_DIMENSIONS or len(sizes) != ndim or min(sizes) < 1:
        raise InputError(
            f"'{path.name}' could not be read: the file is damaged or not a supported image ({SUPPORTED_TEXT}); "
            f"its header gives {ndim_key} '{fields.get(ndim_key, '')}' and {sizes_key} '{fields.get(sizes_key, '')}'"
        )


def data_layout(path: Path, suffix: str) -> tuple[Path, Optional[int]]:
    """(the file holding the voxel data, the most bytes of data one byte of it can expand to, None = unknown).

    Also refuses a NRRD or MetaImage header whose dimensions are damaged.
    """
    if suffix in (".nrrd", ".nhdr", ".seg.nrrd"):
        fields = _text_header_fields(path, ":", None)
        _check_dimensions(path, fields, "dimension", "sizes")
        data = _data_file(path, fields.get("data file", fields.get("datafile", "")))
        encoding = fields.get("encoding", "raw").lower()
        ratio = {"raw": 1, "gzip": MAX_DEFLATE_RATIO, "gz": MAX_DEFLATE_RATIO}.get(encoding)
        if encoding in ("ascii", "text", "txt"):
            ratio = 4  # a value of at most 8 bytes needs at least a digit and a separator
        return (data or path), ratio
    if suffix in (".mha", ".mhd"):
        fields = _text_header_fields(path, "=", "elementdatafile")
        _check_dimensions(path, fields, "ndims", "dimsize")
        data = _data_file(path, fields.get("elementdatafile", "LOCAL"))
        compressed = fields.get("compresseddata", "false").lower() == "true"
        return (data or path), (MAX_DEFLATE_RATIO if compressed else 1)
    if suffix == ".nii.gz":
        return path, MAX_DEFLATE_RATIO
    if suffix == ".nii":
        return path, 1
    return path, None


def pixel_bytes(reader) -> int:
    """Bytes per voxel of the image a SimpleITK reader has read the header of (all components)."""
    import SimpleITK as sitk

    text = sitk.GetPixelIDValueAsString(reader.GetPixelIDValue())
    bits = _BITS.search(text)
    per_value = int(bits.group(1)) // 8 if bits else 8
    per_value *= 2 if text.startswith("complex") else 1
    return per_value * max(int(reader.GetNumberOfComponents()), 1)


def check_claimed_size(name: str, n_voxels: int, n_bytes: int, data_file: Path, ratio: Optional[int]) -> None:
    """Refuse an image larger than the voxel limit, or one whose data cannot fit in the bytes on disk."""
    limit = max_voxels()
    if n_voxels > limit:
        raise ImageContentError(
            f"'{name}' claims {n_voxels:,} voxels, more than the limit of {limit:,} (set {MAX_VOXELS_ENV} to "
            "raise it); a lumbar MRI is far smaller, so the header is probably damaged"
        )
    if ratio is None:
        return
    available = data_file.stat().st_size
    if n_bytes > available * ratio:
        raise InputError(
            f"'{name}' could not be read: its header claims {n_bytes:,} bytes of voxel data but the file holds "
            f"{available:,} bytes; the file is truncated or damaged"
        )
