"""``disccore measure`` through disccore.cli.main.main([...]): exit codes and files."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from phantoms_analytic import DiscSpec, StackSpec, build_stack, make_geometry

from disccore.cli import main as cli_main
from disccore.image import Geometry, SpatialImage, to_sitk
from disccore.measure import DISC_COLUMNS, VERTEBRA_COLUMNS


@pytest.fixture(scope="module")
def seg(tmp_path_factory):
    """A phantom label map as .nii.gz with a JSON sidecar, and the same without names."""
    import SimpleITK as sitk

    folder = tmp_path_factory.mktemp("seg")
    # a round 11 mm sac: AP above the 10 mm cut-off, area (95 mm2) below the 100 mm2 relative one
    spec = StackSpec(discs=[DiscSpec(10.0, 0.1), DiscSpec(9.0, 0.0)], tilt_deg=15.0, canal_ap=11.0, canal_lr=11.0)
    geom = make_geometry((4.0, 0.5, 0.5), "native", oblique_deg=4.0, extent_mm=120.0)
    labels, names, truth = build_stack(spec, geom)
    path = folder / "labels.nii.gz"
    sitk.WriteImage(to_sitk(labels), str(path))
    (folder / "labels.json").write_text(json.dumps({str(k): v for k, v in names.items()}))
    bare = folder / "bare.nii.gz"
    remap = np.zeros_like(labels.array)
    remap[labels.array == 123] = 2
    remap[labels.array == 124] = 1
    sitk.WriteImage(to_sitk(SpatialImage(remap, labels.geometry)), str(bare))
    image = folder / "image.nii.gz"
    sitk.WriteImage(to_sitk(SpatialImage((labels.array > 0).astype(np.float32), labels.geometry)), str(image))
    far = folder / "far.nii.gz"
    far_geom = Geometry((8, 8, 8), spacing=(1, 1, 1), origin=(1000.0, 0, 0))
    sitk.WriteImage(to_sitk(SpatialImage(np.arange(512, dtype=np.float32).reshape(8, 8, 8), far_geom)), str(far))
    return {"labels": path, "bare": bare, "image": image, "far": far, "truth": truth}


def run(*args):
    return cli_main.main(["measure", *map(str, args)])


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        run("--help")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--vertebrae-csv" in out and "--labels" in out


def test_measure_writes_all_outputs(tmp_path, seg, capsys):
    out, js, vc = tmp_path / "discs.csv", tmp_path / "r.json", tmp_path / "v.csv"
    assert run(seg["labels"], "-o", out, "--json", js, "--vertebrae-csv", vc, "--image", seg["image"], "-q") == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == list(DISC_COLUMNS)
    assert [r["level"] for r in rows] == ["L4-L5", "L5-S1"]
    assert float(rows[0]["disc_height_mm"]) == pytest.approx(10.0, abs=0.2)
    assert rows[0]["stenosis"] == "relative" and rows[0]["stenosis_criterion"] == "area < 100 mm2"
    assert list(next(csv.DictReader(vc.open()))) == list(VERTEBRA_COLUMNS)
    assert [r["level"] for r in csv.DictReader(vc.open())] == ["L4", "L5", "S1"]
    doc = json.loads(js.read_text())
    assert doc["inputs"]["image"].endswith("image.nii.gz") and doc["inputs"]["image_same_grid"] is True
    assert doc["lines"]
    assert capsys.readouterr().out == ""  # -q: nothing on stdout


def test_labels_spec_and_summary(tmp_path, seg, capsys):
    out = tmp_path / "d.csv"
    assert run(seg["bare"], "-o", out, "--labels", "1=L5-S1,2=L4-L5") == 0
    assert [r["level"] for r in csv.DictReader(out.open())] == ["L4-L5", "L5-S1"]
    printed = capsys.readouterr()
    assert "L4-L5" in printed.out and "wrote" in printed.out
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"1": "L5-S1", "2": "L4-L5"}))
    out2 = tmp_path / "d2.csv"
    assert run(seg["bare"], "-o", out2, "--labels", names, "-q") == 0
    assert out2.read_text() == out.read_text()


def test_refuses_existing_output_before_computing(tmp_path, seg, capsys):
    out = tmp_path / "d.csv"
    out.write_text("keep")
    js = tmp_path / "r.json"
    assert run(seg["labels"], "-o", out, "--json", js, "-q") == 5
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == "keep" and not js.exists()
    assert run(seg["labels"], "-o", out, "--overwrite", "-q") == 0
    assert out.read_text().startswith("level,")


def test_missing_folder_and_same_paths(tmp_path, seg, capsys):
    assert run(seg["labels"], "-o", tmp_path / "nope" / "d.csv", "-q") == 5
    assert "does not exist" in capsys.readouterr().err
    assert (
        run(seg["labels"], "-o", tmp_path / "d.csv", "--json", tmp_path / "d.csv", "-q") == 5
    )  # an output refused (README)
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs(tmp_path, seg, capsys):
    assert run(tmp_path / "missing.nii.gz", "-o", tmp_path / "d.csv", "-q") == 2
    err = capsys.readouterr().err
    assert "missing.nii.gz" in err and "Traceback" not in err
    assert run(seg["labels"], "-o", tmp_path / "d.csv", "--image", seg["far"], "-q") == 2
    assert "do not overlap" in capsys.readouterr().err
    assert not (tmp_path / "d.csv").exists()
