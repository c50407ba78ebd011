"""Issue 19's bad-input sweep as tests: each reproduction gives one line with the README's exit code (or a correct
result), no traceback, no input modified, no partial output.

The model is replaced by the stand-in segmenter of test_cli (the phantom's true labels) where the command must get
that far; the checks before and after the model are what is tested here.
"""

from __future__ import annotations

import errno
import locale
import os
import shutil
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO_ROOT, subprocess_env
from test_cli import fake_segmenter, phantom, phantom_file  # noqa: F401  (fixtures)

from disccore.cli.main import main
from disccore.errors import (
    ImageContentError,
    InputError,
    LabelError,
    ModelError,
    NothingFoundError,
    OutputError,
)
from disccore.image import Geometry, SpatialImage
from disccore.io import read_image, read_labelmap, write_image, write_segmentation
from disccore.segment.quality import SegmentationQuality

CASE_SUFFIXES = (".seg.nrrd", "_discs.csv", "_vertebrae.csv", "_measurements.json", "_report.png")


def _err_line(capfd) -> str:
    """stderr of the last command, which must be exactly one line (no library console output, no traceback)."""
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _snapshot(*paths):
    return {p: p.read_bytes() for p in paths}


@pytest.fixture
def measured_case(tmp_path, phantom):  # noqa: F811
    """img.nii.gz (the MRI) and labels.nii.gz + labels.json (its label map with the sidecar naming it)."""
    image = write_image(phantom.image, tmp_path / "img.nii.gz")
    labels, sidecar = write_segmentation(phantom.labels, tmp_path / "labels.nii.gz")
    return image, labels, sidecar


# --- 1, 2: an output is never one of the inputs ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_segment_never_overwrites_its_input(tmp_path, phantom_file, fake_segmenter, capfd, how):  # noqa: F811
    target = phantom_file
    if how == "symlink":
        target = tmp_path / "link.nii.gz"
        target.symlink_to(phantom_file)
    elif how == "hardlink":
        target = tmp_path / "hard.nii.gz"
        os.link(phantom_file, target)
    before = phantom_file.read_bytes()
    code = main(["segment", str(phantom_file), "-o", str(target), "--overwrite", "-q"])
    assert code == OutputError.exit_code
    assert "is the input" in _err_line(capfd)
    assert phantom_file.read_bytes() == before


@pytest.mark.parametrize("which", ["json=image", "output=image", "output=sidecar", "json=labels file", "output=seg"])
def test_measure_never_overwrites_its_inputs(tmp_path, measured_case, capfd, which):
    image, labels, sidecar = measured_case
    names = tmp_path / "names.json"
    names.write_text(sidecar.read_text())
    args = {"-o": tmp_path / "t.csv", "--json": None}
    flag, victim = which.split("=")
    args["-o" if flag == "output" else "--json"] = {
        "image": image,
        "sidecar": sidecar,
        "labels file": names,
        "seg": labels,
    }[victim]
    extra = ["--labels", str(names)] if victim == "labels file" else []
    before = _snapshot(image, labels, sidecar, names)
    argv = ["measure", str(labels), "--image", str(image), "--overwrite", "-q"] + extra
    argv += [str(x) for kv in args.items() if kv[1] is not None for x in kv]
    assert main(argv) == OutputError.exit_code
    assert "is the input" in _err_line(capfd)
    assert _snapshot(image, labels, sidecar, names) == before


# --- 3: no silent empty result ----------------------------------------------------------------------------------


@pytest.fixture
def finds_nothing(monkeypatch):
    """A model that finds no spine (all background), as the NaN image once made it do."""
    import disccore.segment as seg

    monkeypatch.setattr(
        seg,
        "segment_image_with_quality",
        lambda image, **kw: (SpatialImage.like(np.zeros(image.geometry.size, np.uint8), image), SegmentationQuality()),
    )


def test_empty_result_is_an_error(tmp_path, phantom_file, finds_nothing, capfd):  # noqa: F811
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == NothingFoundError.exit_code
    assert "no vertebral body and no disc" in _err_line(capfd)
    assert not (tmp_path / "o.seg.nrrd").exists()
    assert main(["run", str(phantom_file), "-o", str(tmp_path / "res"), "-q"]) == NothingFoundError.exit_code
    assert not (tmp_path / "res").exists()  # the folder it created is taken back with the failed case


def test_measure_of_nothing_measurable_is_an_error(tmp_path, capfd):
    arr = np.zeros((30, 30, 10), np.uint8)
    arr[10:20, 10:20, 2:8] = 201  # a canal alone: no disc level to measure it at
    path = write_segmentation(SpatialImage(arr, Geometry(arr.shape)), tmp_path / "canal.seg.nrrd")[0]
    assert main(["measure", str(path), "-o", str(tmp_path / "t.csv"), "-q"]) == NothingFoundError.exit_code
    assert "no disc and no vertebral body" in _err_line(capfd)
    assert not (tmp_path / "t.csv").exists()


def test_batch_lists_an_empty_result_as_failed(tmp_path, phantom_file, finds_nothing):  # noqa: F811
    import csv

    assert main(["batch", str(phantom_file), "-o", str(tmp_path / "res"), "-q"]) == 1
    rows = list(csv.DictReader(open(tmp_path / "res" / "summary.csv")))
    assert rows[0]["status"] == "failed" and "no vertebral body" in rows[0]["error"]


def test_nan_voxels_are_left_out_of_the_normalisation():
    from disccore.segment.preprocess import normalise_intensity

    rng = np.random.default_rng(0)
    clean = rng.normal(300, 80, (40, 40, 10)).astype(np.float32)
    dirty = clean.copy()
    holes = rng.random(clean.shape) < 0.0125
    dirty[holes] = np.nan
    dirty[0, 0, 0] = np.inf
    holes[0, 0, 0] = True
    out = normalise_intensity(dirty)
    assert np.all(np.isfinite(out)) and np.all(out[holes] == 0)
    # the finite voxels are normalised as if the NaN were not there (percentiles of the finite voxels only)
    reference = normalise_intensity(np.where(holes, clean[~holes].mean(), clean))
    assert np.abs(out[~holes] - reference[~holes]).max() < 0.02


# --- 4, 17: header bombs are refused from the header (fast, little memory); see also test_bad_input_fuzz.py ------


def _nrrd_bomb(path, encoding="gzip", data_file=None):
    import gzip

    head = f"NRRD0004\ntype: short\ndimension: 3\nsizes: 1500 1500 1500\nencoding: {encoding}\nendian: little\n"
    if data_file:
        path.write_text(head + f"data file: {data_file}\n\n")
    else:
        path.write_bytes((head + "\n").encode() + gzip.compress(b"\0" * 64))
    return path


def _gzip_nifti_claiming(path, shape, payload_bytes):
    """A .nii.gz whose header claims ``shape`` int16 voxels, followed by ``payload_bytes`` zeros (compressed)."""
    import gzip

    nib = pytest.importorskip("nibabel")
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int16)
    header.set_data_shape(shape)
    header.set_zooms((1.0, 1.0, 1.0))
    raw = header.binaryblock + b"\0\0\0\0"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(raw)
        f.write(b"\0" * payload_bytes)
    return path


def test_header_claiming_huge_size_is_refused_from_the_header(tmp_path):
    bomb = _gzip_nifti_claiming(tmp_path / "bomb.nii.gz", (2000, 2000, 2000), 20_000_000)
    start = time.monotonic()
    with pytest.raises(ImageContentError) as e:
        read_image(bomb)
    assert "voxels, more than the limit" in str(e.value)  # said from the header, not after decompressing
    assert time.monotonic() - start < 1.0
    with pytest.raises(ImageContentError, match="DISCCORE_MAX_VOXELS"):
        read_image(_nrrd_bomb(tmp_path / "b.nrrd"))


def test_voxel_limit_can_be_raised_and_lowered(tmp_path, monkeypatch):
    path = write_image(
        SpatialImage(np.arange(600, dtype=np.int16).reshape(10, 10, 6) + 1, Geometry((10, 10, 6))), tmp_path / "s.nrrd"
    )
    monkeypatch.setenv("DISCCORE_MAX_VOXELS", "500")
    with pytest.raises(ImageContentError, match="limit of 500"):
        read_image(path)
    monkeypatch.setenv("DISCCORE_MAX_VOXELS", "600")
    assert read_image(path).array.size == 600
    monkeypatch.setenv("DISCCORE_MAX_VOXELS", "lots")
    with pytest.raises(InputError, match="DISCCORE_MAX_VOXELS"):
        read_image(path)


@pytest.mark.parametrize("suffix", [".mhd", ".nhdr"])
def test_detached_data_on_a_device_is_refused(tmp_path, suffix):
    if suffix == ".mhd":
        path = tmp_path / "zero.mhd"
        path.write_text(
            "ObjectType = Image\nNDims = 3\nDimSize = 100 100 100\nElementType = MET_SHORT\n"
            "ElementDataFile = /dev/zero\n"
        )
    else:
        path = _nrrd_bomb(tmp_path / "zero.nhdr", "raw", "/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        read_image(path)


def test_data_smaller_than_the_header_claims_is_refused_before_reading(tmp_path):
    (tmp_path / "d.raw").write_bytes(b"\1" * 1000)
    path = tmp_path / "d.mhd"
    path.write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = 300 300 300\nElementType = MET_SHORT\nElementDataFile = d.raw\n"
    )
    with pytest.raises(InputError, match="truncated"):
        read_image(path)


# --- 5: images too small for the network ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 8, 16])
def test_tiny_image_is_refused_before_the_network(tmp_path, n, capfd):
    arr = np.random.default_rng(n).normal(300, 50, (n, n, n)).astype(np.float32)
    path = write_image(SpatialImage(arr, Geometry((n, n, n))), tmp_path / f"tiny{n}.nii.gz")
    assert main(["segment", str(path), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == ImageContentError.exit_code
    assert "too small to segment" in _err_line(capfd)


# --- 6, 7, 11: writes: one line, exit 5, a case's outputs together or not at all -------------------------------------


def _fail_in_report(monkeypatch, exc):
    """Make the last of the five outputs fail (after the other four were written), as a full disk did."""
    import disccore.report as report

    def render_report(*args, **kwargs):
        raise exc

    monkeypatch.setattr(report, "render_report", render_report)


def _case_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_disk_full_leaves_no_partial_case(tmp_path, phantom_file, fake_segmenter, monkeypatch, capfd):  # noqa: F811
    _fail_in_report(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    outdir = tmp_path / "res"
    outdir.mkdir()
    assert main(["run", str(phantom_file), "-o", str(outdir), "-q"]) == OutputError.exit_code
    assert "No space left on device" in _err_line(capfd)
    assert _case_files(outdir) == []


def test_measure_and_segment_write_all_or_nothing(
    tmp_path,
    measured_case,
    phantom_file,  # noqa: F811
    fake_segmenter,  # noqa: F811
    monkeypatch,
    capfd,
):
    """The disk fills up at the last file (a JSON): the files written before it are taken back."""
    from pathlib import Path

    real_write_text = Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name.endswith(".json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    _, labels, _ = measured_case
    out = tmp_path / "out"
    out.mkdir()
    argv = [
        "measure",
        str(labels),
        "-o",
        str(out / "t.csv"),
        "--vertebrae-csv",
        str(out / "v.csv"),
        "--json",
        str(out / "t.json"),
        "-q",
    ]
    assert main(argv) == OutputError.exit_code
    assert "No space left on device" in _err_line(capfd)
    assert _case_files(out) == []
    assert main(["segment", str(phantom_file), "-o", str(out / "s.nii.gz"), "-q"]) == OutputError.exit_code
    assert "No space left on device" in _err_line(capfd)  # its JSON sidecar failed after the label map
    assert _case_files(out) == []


def test_ctrl_c_leaves_no_partial_case_and_a_rerun_works(tmp_path, phantom_file, fake_segmenter, monkeypatch):  # noqa: F811
    import disccore.report as report

    real = report.render_report
    calls = []

    def interrupted_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(report, "render_report", interrupted_once)
    outdir = tmp_path / "res"
    assert main(["run", str(phantom_file), "-o", str(outdir), "-q"]) == 130
    assert _case_files(outdir) == []
    assert main(["run", str(phantom_file), "-o", str(outdir), "-q"]) == 0  # no --overwrite needed
    assert _case_files(outdir) == sorted(f"case1{s}" for s in CASE_SUFFIXES)


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_temporaries_of_a_killed_run_are_removed_by_the_next(tmp_path, phantom_file, fake_segmenter):  # noqa: F811
    from disccore.outputs import FOREIGN_TEMPORARY_AGE_S, temporary_path

    outdir = tmp_path / "res"
    outdir.mkdir()

    def left_by(pid, name):
        return temporary_path(outdir / name).name.replace(f"-{os.getpid()}-", f"-{pid}-", 1)

    dead = _dead_pid()
    staging = outdir / left_by(dead, "case")
    staging.mkdir()
    (staging / "case1.seg.nrrd").write_bytes(b"half")
    (outdir / left_by(dead, "case1_discs.csv")).write_text("half")
    live = left_by(os.getppid(), "case1_report.png")  # a running process: maybe still writing
    (outdir / live).write_text("busy")
    recent_foreign, old_foreign = (f".tmp-disccore-{dead}-0000beef-{n}-case1.seg.nrrd" for n in ("a1", "b2"))
    (outdir / recent_foreign).write_text("another host, maybe still writing")
    (outdir / old_foreign).write_text("another host, long ago")
    long_ago = time.time() - FOREIGN_TEMPORARY_AGE_S - 60
    os.utime(outdir / old_foreign, (long_ago, long_ago))
    assert main(["run", str(phantom_file), "-o", str(outdir), "-q"]) == 0
    assert _case_files(outdir) == sorted([live, recent_foreign] + [f"case1{s}" for s in CASE_SUFFIXES])


def test_unwritable_output_folder_fails_before_any_work(tmp_path, phantom_file, monkeypatch, capfd):  # noqa: F811
    import disccore.outputs as outputs
    import disccore.segment as seg

    def no_space(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the model ran before the output folder was checked")

    monkeypatch.setattr(outputs.tempfile, "mkstemp", no_space)
    monkeypatch.setattr(seg, "segment_image_with_quality", must_not_run)
    for argv in (
        ["run", str(phantom_file), "-o", str(tmp_path / "res")],
        ["segment", str(phantom_file), "-o", str(tmp_path / "o.seg.nrrd")],
    ):
        assert main(argv + ["-q"]) == OutputError.exit_code
        assert "not writable" in _err_line(capfd)


def test_immutable_output_folder(tmp_path, phantom_file, capfd):  # noqa: F811
    """A real read-only folder (chattr +i also stops root, who ignores permission bits)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip("chattr +i is not available here (the monkeypatched test above covers the logic)")
    try:
        assert main(["segment", str(phantom_file), "-o", str(folder / "o.seg.nrrd"), "-q"]) == OutputError.exit_code
        assert "not writable" in _err_line(capfd)
    finally:
        subprocess.run(["chattr", "-i", str(folder)])


# --- 8: NIfTI geometry ------------------------------------------------------------------------------------------


#: byte offsets and formats of the NIfTI-1 header fields the tests patch
NIFTI_FIELDS = {"pixdim3": (88, "<f"), "qform_code": (252, "<h"), "sform_code": (254, "<h")}


def _patch_nifti(path, **fields):
    """Set raw NIfTI-1 header fields of a .nii.gz (nibabel would write them back from its affine)."""
    import gzip
    import struct

    raw = bytearray(gzip.decompress(path.read_bytes()))
    for name, value in fields.items():
        offset, fmt = NIFTI_FIELDS[name]
        raw[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    path.write_bytes(gzip.compress(bytes(raw)))
    return path


def _nifti_pixdim0(path, sform_code):
    """A .nii.gz with pixdim[3] = 0, no qform, and an sform (4 mm slices) or none."""
    nib = pytest.importorskip("nibabel")
    arr = np.random.default_rng(1).integers(1, 1000, (20, 18, 6)).astype(np.int16)
    affine = np.array([[0.5, 0, 0, -10.0], [0, 0.5, 0, 20.0], [0, 0, 4.0, 30.0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(arr, affine), str(path))
    return _patch_nifti(path, pixdim3=0.0, qform_code=0, sform_code=sform_code), affine


def test_pixdim_zero_uses_the_sform(tmp_path):
    path, affine = _nifti_pixdim0(tmp_path / "p.nii.gz", sform_code=1)
    image = read_image(path)
    np.testing.assert_allclose(image.geometry.spacing, [0.5, 0.5, 4.0])
    np.testing.assert_allclose(image.geometry.ijk_to_ras(), affine, atol=1e-6)  # where nibabel puts it


def test_pixdim_zero_without_sform_is_refused(tmp_path):
    path, _ = _nifti_pixdim0(tmp_path / "p.nii.gz", sform_code=0)
    with pytest.raises(ImageContentError, match="no voxel size"):
        read_image(path)


def test_pixdim_disagreeing_with_the_sform_is_refused(tmp_path):
    nib = pytest.importorskip("nibabel")
    arr = np.random.default_rng(1).integers(1, 1000, (20, 18, 6)).astype(np.int16)
    img = nib.Nifti1Image(arr, np.diag([0.5, 0.5, 4.0, 1.0]))
    img.header.set_sform(np.diag([0.5, 0.5, 4.0, 1.0]), code=1)
    img.header.set_qform(np.diag([0.5, 0.5, 1.0, 1.0]), code=1)  # also sets pixdim[3] = 1
    nib.save(img, str(tmp_path / "two.nii.gz"))
    with pytest.raises(ImageContentError, match="two voxel sizes"):
        read_image(tmp_path / "two.nii.gz")


# --- 9, 10: label values ---------------------------------------------------------------------------------------


def test_label_values_that_would_wrap_are_refused(tmp_path, capfd):
    arr = np.zeros((10, 10, 6), np.int64)
    arr[2:5, 2:5, 2:4] = 2**32 + 124  # wrapped to 32 bits it would be 124 = L5-S1
    path = write_image(SpatialImage(arr.astype(np.float64), Geometry(arr.shape)), tmp_path / "big.nrrd")
    with pytest.raises(LabelError, match="larger than the largest label value"):
        read_labelmap(path, labels={2**32 + 124: "L5-S1"})
    assert main(["measure", str(path), "-o", str(tmp_path / "t.csv"), "-q"]) == LabelError.exit_code
    assert "larger than" in _err_line(capfd)


def test_a_label_map_given_to_segment_is_refused(tmp_path, phantom, capfd):  # noqa: F811
    path = write_image(phantom.labels, tmp_path / "labels_as_image.nii.gz")
    assert main(["segment", str(path), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == ImageContentError.exit_code
    assert "looks like a label map" in _err_line(capfd)
    # a noise-free synthetic volume with a few grey levels on a non-zero background (Slicer's self-test) passes
    from disccore.segment.checks import check_segmentable

    levels = np.choose(np.minimum(phantom.labels.array // 50, 3), [50.0, 400.0, 900.0, 1200.0]).astype(np.float32)
    check_segmentable(SpatialImage.like(levels, phantom.labels), (1.0, 1.0))


def test_real_mri_is_not_taken_for_a_label_map(phantom, shared_data):  # noqa: F811
    """The sample, the phantom and real MRI (uint8 and uint16) pass; the real label maps beside them do not."""
    from disccore.segment.checks import check_segmentable

    check_segmentable(read_image(REPO_ROOT / "Resources/Samples/synthetic_lumbar_t2.nii.gz"), (1.0, 1.0))
    check_segmentable(phantom.image, (1.0, 1.0))
    images = sorted(p for p in shared_data.rglob("*.nii.gz") if p.name.endswith(("_t2.nii.gz", "_img.nii.gz")))
    assert len(images) > 10, "too few MRI found in the shared data"
    for path in images[:: len(images) // 6]:
        check_segmentable(read_image(path), (1.0, 1.0))
        masks = [m for m in path.parent.glob(path.name.split("_")[0] + "_*.nii.gz") if m != path]
        with pytest.raises(ImageContentError, match="label map"):
            check_segmentable(read_image(masks[0]), (1.0, 1.0))


# --- 12: not a regular file ------------------------------------------------------------------------------------


def _cli(*args, timeout=20):
    return subprocess.run(
        [sys.executable, "-m", "disccore", *map(str, args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=timeout,
    )


def test_fifo_and_devices_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "f.nrrd"
    os.mkfifo(fifo)
    dicom = tmp_path / "dicom"
    dicom.mkdir()
    os.mkfifo(dicom / "IM0001")
    os.mkfifo(tmp_path / "names.json")
    arr = np.zeros((10, 10, 6), np.uint8)
    arr[3:6, 3:6, 2:4] = 1
    labels = write_image(SpatialImage(arr, Geometry(arr.shape)), tmp_path / "l.nrrd")
    for argv in (
        ["segment", fifo, "-o", tmp_path / "f.seg.nrrd"],
        ["segment", "/dev/zero", "-o", tmp_path / "z.seg.nrrd"],
        ["measure", fifo, "-o", tmp_path / "t.csv"],
        ["segment", dicom, "-o", tmp_path / "d.seg.nrrd"],
        ["measure", labels, "--labels", tmp_path / "names.json", "-o", tmp_path / "t.csv"],
    ):
        start = time.monotonic()
        done = _cli(*argv)
        assert time.monotonic() - start < 15
        assert done.returncode == InputError.exit_code, done.stderr
        assert "not a regular file" in done.stderr and "Traceback" not in done.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_unreadable_input_says_permission_denied(tmp_path, phantom_file, monkeypatch):  # noqa: F811
    """Not 'damaged': the file is fine, the user may not read it. (root reads anything: there the refusal of
    open() is simulated.)"""
    from disccore.io import preflight

    locked = tmp_path / "locked.nii.gz"
    shutil.copy(phantom_file, locked)
    locked.chmod(0)
    if os.geteuid() == 0:

        def refused(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(preflight, "open", refused, raising=False)
    with pytest.raises(InputError, match=r"could not be opened \(Permission denied\)"):
        read_image(locked)


# --- 13: one line, never the libraries' console output -----------------------------------------------------------


def test_library_console_output_is_silenced(tmp_path, phantom_file, capfd):  # noqa: F811
    mha = write_image(read_image(phantom_file), tmp_path / "t.mha")
    (tmp_path / "cut.mha").write_bytes(mha.read_bytes()[:-5000])
    (tmp_path / "empty").mkdir()
    for name in ("cut.mha", "empty"):
        code = main(["segment", str(tmp_path / name), "-o", str(tmp_path / "o.seg.nrrd"), "-q"])
        assert code == InputError.exit_code
        _err_line(capfd)


def test_no_orientation_warning_is_one_clean_line(tmp_path, phantom, monkeypatch, capfd):  # noqa: F811
    import disccore.segment as seg

    nib = pytest.importorskip("nibabel")
    monkeypatch.setattr(
        seg,
        "segment_image_with_quality",
        lambda image, **kw: (SpatialImage.like(phantom.labels.array, image), SegmentationQuality()),
    )
    g = phantom.image.geometry
    nib.save(nib.Nifti1Image(phantom.image.array, np.diag(list(g.spacing) + [1.0])), str(tmp_path / "noorient.nii.gz"))
    _patch_nifti(tmp_path / "noorient.nii.gz", qform_code=0, sform_code=0)
    main(["segment", str(tmp_path / "noorient.nii.gz"), "-o", str(tmp_path / "o.seg.nrrd"), "-q"])
    err = capfd.readouterr().err
    assert "disccore segment: warning: 'noorient.nii.gz' stores no orientation" in err
    assert "UserWarning" not in err and ".py:" not in err


# --- 14: messages and exit codes as the README says ---------------------------------------------------------------


def test_nifti2_is_named(tmp_path):
    nib = pytest.importorskip("nibabel")
    arr = np.random.default_rng(0).integers(1, 1000, (20, 18, 6)).astype(np.int16)
    nib.save(nib.Nifti2Image(arr, np.diag([0.5, 0.5, 3.0, 1.0])), str(tmp_path / "n2.nii.gz"))
    with pytest.raises(InputError, match="NIfTI-2"):
        read_image(tmp_path / "n2.nii.gz")


def test_duplicate_dicom_slice_is_named(tmp_path):
    from test_io import _random_image, _write_dicom_series

    image = _random_image(Geometry((6, 5, 6), (0.5, 0.5, 4.0), (0.0, 0.0, 0.0), np.eye(3)), seed=7)
    folder = tmp_path / "dup"
    ctype = locale.setlocale(locale.LC_CTYPE)
    try:
        _write_dicom_series(folder, image, "1.2.826.0.1.3680043.2.1125.1.45", 2, "DUP")
    finally:  # GDCM's writer leaves LC_CTYPE at "C", and later tests would read UTF-8 files as ASCII
        locale.setlocale(locale.LC_CTYPE, ctype)
    shutil.copy(folder / "s2_002.dcm", folder / "s2_002_copy.dcm")
    with pytest.raises(ImageContentError) as e:
        read_image(folder)
    assert "duplicate slice" in str(e.value) and "missing" not in str(e.value)


def test_singular_direction_is_image_content(tmp_path, capfd):
    path = tmp_path / "sing.nrrd"
    path.write_bytes(
        b"NRRD0004\ntype: short\ndimension: 3\nsizes: 10 10 6\nspace: left-posterior-superior\n"
        b"space directions: (1,0,0) (1,0,0) (0,0,3)\nspace origin: (0,0,0)\nencoding: raw\n"
        b"endian: little\n\n" + np.arange(600, dtype=np.int16).tobytes()
    )
    assert main(["segment", str(path), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == ImageContentError.exit_code
    assert "orthonormal" in _err_line(capfd)


@pytest.mark.parametrize("directions", ["(1,0,0) (0,0,0) (0,0,3)", "(1,0,0) (0,nan,0) (0,0,3)"])
def test_zero_or_nan_spacing_is_image_content(tmp_path, directions):
    path = tmp_path / "zero.nrrd"
    path.write_bytes(
        b"NRRD0004\ntype: short\ndimension: 3\nsizes: 10 10 6\nspace: left-posterior-superior\n"
        + f"space directions: {directions}\n".encode()
        + b"encoding: raw\nendian: little\n\n"
        + np.arange(600, dtype=np.int16).tobytes()
    )
    with pytest.raises(ImageContentError, match="voxel size of 0|not orthonormal"):
        read_image(path)


def test_models_with_a_bad_manifest_exits_1(tmp_path, monkeypatch, capfd):
    (tmp_path / "manifest.json").write_text("{not json")
    monkeypatch.setenv("DISCCORE_MODELS_DIR", str(tmp_path))
    assert main(["models"]) == 1
    assert "damaged" in _err_line(capfd)


def test_measure_help_shows_a_plain_percent(capsys):
    with pytest.raises(SystemExit):
        main(["measure", "--help"])
    out = capsys.readouterr().out
    assert "80 %" in out and "%%" not in out


# --- 15: DISCCORE_MODELS_DIR naming a missing folder ---------------------------------------------------------------


def test_models_dir_typo_is_an_error(tmp_path, phantom_file, monkeypatch, capfd):  # noqa: F811
    monkeypatch.setenv("DISCCORE_MODELS_DIR", str(tmp_path / "modles"))
    assert main(["models"]) == 1
    assert "DISCCORE_MODELS_DIR" in _err_line(capfd)
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == ModelError.exit_code
    assert "not a folder" in _err_line(capfd)


# --- the README's exit-code table is the code's -----------------------------------------------------------------------


def test_readme_exit_code_table_matches_the_errors():
    import re

    from disccore import errors

    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+?) \|$", text, flags=re.MULTILINE)}
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DiscCoreError)
    }
    assert set(table) == codes | {0}, f"README exit codes {sorted(table)}, code's {sorted(codes)}"
    assert "nothing found" in table[NothingFoundError.exit_code]
    assert "output" in table[OutputError.exit_code] and "label" in table[LabelError.exit_code]
