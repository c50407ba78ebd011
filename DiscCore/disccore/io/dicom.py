"""DICOM series folders: list the series they hold and read one (SimpleITK / GDCM).

Geometry comes from GDCM's reading of Image Position / Image Orientation (Patient), which are LPS
by definition, so the image is placed exactly as the scanner stored it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from ..errors import InputError
from .preflight import check_claimed_size, quiet_native_output

_NOT_A_FILE = (stat.S_ISFIFO, stat.S_ISCHR, stat.S_ISBLK, stat.S_ISSOCK)

#: at most this many sub-folders are searched for DICOM files when the folder itself holds none
_MAX_FOLDERS = 2000


@dataclass(frozen=True)
class DicomSeries:
    """One DICOM series found in a folder; ``index`` counts from 1 in the listing order."""

    index: int
    uid: str
    description: str
    n_files: int
    folder: Path
    files: tuple[str, ...]
    series_number: Optional[int] = None
    modality: str = ""
    rows: Optional[int] = None
    columns: Optional[int] = None

    @property
    def size(self) -> Optional[tuple[int, int, int]]:
        """(columns, rows, files) when known: the voxel grid size of a classic one-slice-per-file series."""
        if self.rows is None or self.columns is None:
            return None
        return (self.columns, self.rows, self.n_files)

    def summary(self) -> str:
        """One short line: '2) T2 SAG (MR, 15 files, 256x256, UID 1.2.3)'."""
        desc = self.description or "no description"
        bits = [self.modality] if self.modality else []
        bits.append(f"{self.n_files} file{'s' if self.n_files != 1 else ''}")
        if self.size is not None:
            bits.append(f"{self.columns}x{self.rows}")
        bits.append(f"UID {self.uid}")
        return f"{self.index}) {desc} ({', '.join(bits)})"


def _tag(reader, key: str) -> str:
    try:
        return reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else ""
    except RuntimeError:  # pragma: no cover - defensive
        return ""


def _int_or_none(text: str) -> Optional[int]:
    try:
        return int(float(text))
    except ValueError:
        return None


def _series_in(folder: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    import SimpleITK as sitk

    out = []
    _refuse_special_files(folder)
    try:
        with quiet_native_output():
            uids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    except RuntimeError:
        return out
    for uid in uids:
        with quiet_native_output():
            files = tuple(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid))
        if files:
            out.append((uid, folder, files))
    return out


def _refuse_special_files(folder: Path) -> None:
    """GDCM opens every file of a folder it scans: a FIFO in it would block forever, a device never end."""
    try:
        entries = list(os.scandir(folder))
    except OSError as e:
        raise InputError(f"the folder '{folder}' could not be read ({e.strerror})") from None
    for entry in entries:
        try:
            mode = os.stat(entry.path).st_mode
        except OSError:
            continue  # a broken link: GDCM skips what it cannot open
        if any(test(mode) for test in _NOT_A_FILE):
            raise InputError(
                f"the folder '{folder}' holds '{entry.name}', which is not a regular file (a pipe, socket or device); "
                "remove it or give a folder of DICOM files only"
            )


def list_dicom_series(folder) -> list[DicomSeries]:
    """The DICOM series in ``folder`` (or, when it holds none, in its sub-folders), numbered from 1.

    Ordered by series number, then description, then UID, so the numbering is stable between runs.
    Reads only the header of one file per series.
    """
    import SimpleITK as sitk

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"the DICOM folder '{root}' does not exist")
    found = _series_in(root)
    if not found:
        for n, (dirpath, dirnames, _files) in enumerate(os.walk(root)):
            dirnames.sort()
            if n == 0:
                continue
            if n > _MAX_FOLDERS:
                break
            found.extend(_series_in(Path(dirpath)))
    rows = []
    for uid, where, files in found:
        reader = sitk.ImageFileReader()
        reader.SetFileName(files[0])
        reader.LoadPrivateTagsOff()
        try:
            with quiet_native_output():
                reader.ReadImageInformation()
            description = _tag(reader, "0008|103e")
            number = _int_or_none(_tag(reader, "0020|0011"))
            modality = _tag(reader, "0008|0060")
            n_rows = _int_or_none(_tag(reader, "0028|0010"))
            n_cols = _int_or_none(_tag(reader, "0028|0011"))
        except RuntimeError:
            description, number, modality, n_rows, n_cols = "", None, "", None, None
        rows.append((number, description, uid, where, files, modality, n_rows, n_cols))
    rows.sort(key=lambda r: (r[0] is None, r[0] if r[0] is not None else 0, r[1], r[2]))
    return [
        DicomSeries(
            index=i,
            uid=uid,
            description=description,
            n_files=len(files),
            folder=where,
            files=files,
            series_number=number,
            modality=modality,
            rows=n_rows,
            columns=n_cols,
        )
        for i, (number, description, uid, where, files, modality, n_rows, n_cols) in enumerate(rows, start=1)
    ]


def _listing(series: list[DicomSeries]) -> str:
    return " ; ".join(s.summary() for s in series)


def choose_series(folder, series: Union[int, str, None] = None) -> DicomSeries:
    """The series to read: the only one, or the one picked by 1-based number or UID.

    Raises InputError when the folder holds no DICOM series, when the choice matches none, or when it
    holds several and none was chosen (the message lists them on one line).
    """
    listing = list_dicom_series(folder)
    if not listing:
        raise InputError(
            f"the folder '{folder}' holds no DICOM series; give a DICOM folder or an image file (NIfTI, NRRD or MHA)"
        )
    n = len(listing)
    if series is None or (isinstance(series, str) and not series.strip()):
        if n == 1:
            return listing[0]
        raise InputError(f"the folder holds {n} series: {_listing(listing)} ; choose one with --series N or a UID")
    key = str(series).strip()
    if key.isdigit():
        number = int(key)
        if 1 <= number <= n:
            return listing[number - 1]
    for s in listing:
        if s.uid == key:
            return s
    raise InputError(
        f"series '{key}' is not in the folder; it holds {n} series: {_listing(listing)} ; "
        f"choose one with --series N (1 to {n}) or a UID"
    )


def _floats(text: str) -> Optional[list[float]]:
    try:
        return [float(v) for v in text.replace("\\", " ").split()]
    except ValueError:
        return None


def check_slice_geometry(chosen: DicomSeries) -> None:
    """Raise ImageContentError when the slices of a series are not one evenly spaced stack.

    SimpleITK reads a series with a missing slice or mixed orientations (e.g. a 3-plane localizer)
    with only a console warning; distances measured in such a volume would be wrong.
    """
    import SimpleITK as sitk

    from ..errors import ImageContentError

    if chosen.n_files < 3:
        return
    positions, orientations = [], []
    reader = sitk.ImageFileReader()
    reader.LoadPrivateTagsOff()
    for f in chosen.files:
        reader.SetFileName(f)
        try:
            with quiet_native_output():
                reader.ReadImageInformation()
        except RuntimeError:
            return  # the series reader reports damaged files
        pos = _floats(_tag(reader, "0020|0032"))
        ori = _floats(_tag(reader, "0020|0037"))
        if pos is None or ori is None or len(pos) != 3 or len(ori) != 6:
            return  # e.g. a multi-frame file: GDCM places the frames itself
        positions.append(pos)
        orientations.append(ori)
    o = np.asarray(orientations)
    if np.abs(o - o[0]).max() > 1e-3:
        raise ImageContentError(
            f"DICOM series {chosen.index} mixes slice orientations (e.g. a localizer); "
            "choose a single 3D sagittal series"
        )
    normal = np.cross(o[0, :3], o[0, 3:])
    depth = np.sort(np.asarray(positions) @ normal)
    steps = np.diff(depth)
    median = float(np.median(steps))
    if median <= 1e-6:
        raise ImageContentError(
            f"DICOM series {chosen.index} holds several images at the same slice position (several echoes or "
            "times?); export one 3D volume"
        )
    if steps.min() < 0.01 * median:
        raise ImageContentError(
            f"DICOM series {chosen.index} holds two images at the same slice position (a duplicate slice?); "
            "remove the duplicate or export the series again"
        )
    if np.abs(steps - median).max() > max(0.01 * median, 1e-3):
        raise ImageContentError(
            f"DICOM series {chosen.index} has uneven slice spacing ({steps.min():.2f} to {steps.max():.2f} mm; "
            "missing slices, or files GDCM could not read?); export the complete series again"
        )


def read_dicom_series(chosen: DicomSeries):
    """Read one series with SimpleITK's ImageSeriesReader; returns the SimpleITK image (not validated)."""
    import SimpleITK as sitk

    check_slice_geometry(chosen)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(chosen.files))
    try:
        _check_series_size(chosen)
        with quiet_native_output():
            return reader.Execute()
    except RuntimeError:
        raise InputError(
            f"DICOM series {chosen.index} ({chosen.description or chosen.uid}) could not be read: "
            "its files are damaged or not a supported image"
        ) from None


def _check_series_size(chosen: DicomSeries) -> None:
    """Refuse a series whose headers claim more voxels than the limit, before the series is read."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(chosen.files[0])
    with quiet_native_output():
        reader.ReadImageInformation()
    per_file = int(np.prod(reader.GetSize(), dtype=object)) * max(int(reader.GetNumberOfComponents()), 1)
    name = chosen.description or f"DICOM series {chosen.index}"
    check_claimed_size(name, per_file * chosen.n_files, 0, chosen.folder, None)
