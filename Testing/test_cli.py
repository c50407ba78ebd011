"""CLI plumbing: help texts, exit codes, fail-fast output checks, batch keeps going past broken cases.

The model is replaced by a stand-in segmenter here (returning the phantom's true label map) because these
tests are about the command plumbing; the model itself is tested in test_segment_*.py.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import subprocess_env

from disccore import anatomy
from disccore.cli.main import SUBCOMMANDS, main
from disccore.errors import ImageContentError, InputError, OutputError
from disccore.image import Geometry, SpatialImage


@pytest.fixture(scope="module")
def phantom():
    from disccore.phantom import make_lumbar_phantom

    return make_lumbar_phantom(seed=3)


@pytest.fixture
def fake_segmenter(monkeypatch, phantom):
    """Replace the model with one that returns the phantom's truth on the phantom's grid."""
    import disccore.segment as seg
    from disccore.segment.quality import SegmentationQuality

    def segment_image_with_quality(image, model=None, device="auto", progress=None):
        if not image.geometry.same_grid(phantom.labels.geometry):
            raise AssertionError("stand-in segmenter only knows the phantom grid")
        if progress:
            progress(1.0, "segmented")
        return SpatialImage(phantom.labels.array.copy(), image.geometry), SegmentationQuality(lumbar_bodies=5)

    monkeypatch.setattr(seg, "segment_image_with_quality", segment_image_with_quality)


@pytest.fixture
def phantom_file(tmp_path, phantom):
    from disccore.io import write_image

    return write_image(phantom.image, tmp_path / "case1.nii.gz")


def test_every_subcommand_has_help_with_examples(capsys):
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "example" in out.lower(), f"'disccore {name} --help' shows no examples"


def test_python_m_disccore_runs():
    out = subprocess.run(
        [sys.executable, "-m", "disccore", "--version"], capture_output=True, text=True, env=subprocess_env()
    )
    assert out.returncode == 0 and "disccore" in out.stdout


def test_import_disccore_is_cheap():
    code = "import sys, disccore, disccore.cli.main; print('torch' in sys.modules, 'monai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=subprocess_env())
    assert out.stdout.split() == ["False", "False"]


def test_segment_missing_input(tmp_path, capsys):
    code = main(["segment", str(tmp_path / "nope.nii.gz"), "-o", str(tmp_path / "o.seg.nrrd")])
    err = capsys.readouterr().err
    assert code == InputError.exit_code and "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.seg.nrrd").exists()


def test_segment_output_folder_missing(tmp_path, phantom_file, capsys):
    code = main(["segment", str(phantom_file), "-o", str(tmp_path / "no" / "o.seg.nrrd")])
    assert code == OutputError.exit_code and "does not exist" in capsys.readouterr().err


def test_segment_refuses_existing_output_and_keeps_it(tmp_path, phantom_file, fake_segmenter, capsys):
    out = tmp_path / "o.nii.gz"
    out.write_bytes(b"user's precious file")
    code = main(["segment", str(phantom_file), "-o", str(out), "-q"])
    assert code == OutputError.exit_code and "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"user's precious file"


def test_segment_refuses_existing_sidecar(tmp_path, phantom_file, fake_segmenter):
    (tmp_path / "o.json").write_text("{}")
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "o.nii.gz"), "-q"]) == OutputError.exit_code
    assert not (tmp_path / "o.nii.gz").exists()


def test_segment_rejects_unknown_output_suffix(tmp_path, phantom_file):
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "o.png")]) == OutputError.exit_code


def test_segment_writes_nifti_and_sidecar(tmp_path, phantom_file, fake_segmenter, phantom):
    out = tmp_path / "o.nii.gz"
    assert main(["segment", str(phantom_file), "-o", str(out), "-q"]) == 0
    sidecar = json.loads((tmp_path / "o.json").read_text())
    present = {int(v) for v in np.unique(phantom.labels.array) if v}
    assert {int(k) for k in sidecar} == present
    assert all(anatomy.by_label(int(k)).name == v for k, v in sidecar.items())
    # overwrite works when asked
    assert main(["segment", str(phantom_file), "-o", str(out), "-q", "--overwrite"]) == 0


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.zeros((20, 20, 5), np.float32), "empty"),
        (np.ones((20, 20, 1), np.float32), "2D"),
    ],
)
def test_segment_bad_image_content(tmp_path, array, expected, capsys):
    from disccore.io import write_image

    path = write_image(SpatialImage(array, Geometry(array.shape)), tmp_path / "bad.nii.gz")
    code = main(["segment", str(path), "-o", str(tmp_path / "o.seg.nrrd")])
    assert code == ImageContentError.exit_code
    assert expected.lower() in capsys.readouterr().err.lower()
    assert not (tmp_path / "o.seg.nrrd").exists()


def test_segment_truncated_file(tmp_path, phantom_file, capsys):
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(phantom_file.read_bytes()[:2000])
    code = main(["segment", str(broken), "-o", str(tmp_path / "o.seg.nrrd")])
    assert code == InputError.exit_code and "could not be read" in capsys.readouterr().err


def test_run_writes_all_outputs(tmp_path, phantom_file, fake_segmenter):
    outdir = tmp_path / "res"
    assert main(["run", str(phantom_file), "-o", str(outdir), "-q"]) == 0
    for suffix in (".seg.nrrd", "_discs.csv", "_vertebrae.csv", "_measurements.json", "_report.png"):
        assert (outdir / f"case1{suffix}").stat().st_size > 0
    rows = list(csv.DictReader(open(outdir / "case1_discs.csv")))
    assert [r["level"] for r in rows] == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    # a second run refuses to overwrite, and names the file
    assert main(["run", str(phantom_file), "-o", str(outdir), "-q"]) == OutputError.exit_code


def test_run_missing_input_creates_no_folder(tmp_path):
    assert main(["run", str(tmp_path / "nope.nii.gz"), "-o", str(tmp_path / "res")]) == InputError.exit_code
    assert not (tmp_path / "res").exists()


def test_batch_keeps_going_past_broken_case(tmp_path, phantom_file, fake_segmenter, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = inputs / "good.nii.gz"
    good.write_bytes(phantom_file.read_bytes())
    (inputs / "broken.nii.gz").write_bytes(b"not an image at all")
    outdir = tmp_path / "res"
    code = main(["batch", str(inputs), "-o", str(outdir), "-q"])
    assert code == 1
    summary = {r["case"]: r for r in csv.DictReader(open(outdir / "summary.csv"))}
    assert summary["good"]["status"] == "ok" and summary["broken"]["status"] == "failed"
    assert "could not be read" in summary["broken"]["error"]
    assert float(summary["good"]["L4-L5 disc_height_mm"]) > 0
    assert (outdir / "good.seg.nrrd").exists() and not (outdir / "broken.seg.nrrd").exists()
    levels = list(csv.DictReader(open(outdir / "all_levels.csv")))
    assert {r["case"] for r in levels} == {"good"} and len(levels) == 5
    assert "1 case(s) failed" in capsys.readouterr().err


def test_batch_all_good_exits_zero(tmp_path, phantom_file, fake_segmenter):
    assert main(["batch", "--input", str(phantom_file), "-o", str(tmp_path / "res"), "-q"]) == 0


def test_batch_missing_input_is_an_error(tmp_path):
    assert main(["batch", str(tmp_path / "nope"), "-o", str(tmp_path / "res"), "-q"]) == InputError.exit_code
