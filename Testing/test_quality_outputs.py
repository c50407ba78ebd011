"""The quality report in the outputs: disccore segment's NAME.qc.json, the qc column of disccore run's CSVs, the
batch's needs_review, the warning lines, the report picture, and a real run of the bundled sample."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from batch_cases import FLAG, fake_case
from test_cli import phantom, phantom_file  # noqa: F401  (fixtures)

from disccore.batch import run_batch
from disccore.cli.cmd_batch import print_case
from disccore.cli.main import main
from disccore.errors import OutputError
from disccore.image import SpatialImage
from disccore.quality import flags as qf
from disccore.segment.quality import SegmentationQuality, StructureQuality

SAMPLE = Path(__file__).resolve().parents[1] / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"
L4_FLAG = "low confidence 0.50"


def _flagged_quality() -> SegmentationQuality:
    """L5 not recognised (a case flag) and an unsure L4 (a level flag)."""
    q = SegmentationQuality(lumbar_bodies=5, anchored_on_l5=False, flags=[qf.L5_NOT_RECOGNISED])
    q.structures["L4"] = StructureQuality(confidence=0.5, slice_agreement=0.9, volume_mm3=1.0, flags=[L4_FLAG])
    return q


@pytest.fixture
def flagged_segmenter(monkeypatch, phantom):  # noqa: F811
    """The phantom's truth as the model's labels, with a quality report that flags the case and L4."""
    import disccore.segment as seg

    def segment_image_with_quality(image, model=None, device="auto", progress=None):
        return SpatialImage(phantom.labels.array.copy(), image.geometry), _flagged_quality()

    monkeypatch.setattr(seg, "segment_image_with_quality", segment_image_with_quality)


def test_segment_writes_the_quality_report_beside_its_output(tmp_path, phantom_file, flagged_segmenter, capfd):  # noqa: F811
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == 0
    assert json.loads((tmp_path / "o.qc.json").read_text()) == _flagged_quality().report()
    err = capfd.readouterr().err
    assert f"disccore segment: warning: o.seg.nrrd needs review: {qf.L5_NOT_RECOGNISED}; L4: {L4_FLAG}" in err
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "n.nii.gz"), "-q"]) == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"n.nii.gz", "n.json", "n.qc.json"}


def test_segment_refuses_an_existing_quality_report_before_any_work(tmp_path, phantom_file, monkeypatch, capfd):  # noqa: F811
    import disccore.segment as seg

    def must_not_run(*args, **kwargs):
        raise AssertionError("the model ran before the outputs were checked")

    monkeypatch.setattr(seg, "segment_image_with_quality", must_not_run)
    (tmp_path / "o.qc.json").write_text("mine")
    assert main(["segment", str(phantom_file), "-o", str(tmp_path / "o.seg.nrrd"), "-q"]) == OutputError.exit_code
    assert "o.qc.json' already exists" in capfd.readouterr().err
    assert (tmp_path / "o.qc.json").read_text() == "mine" and not (tmp_path / "o.seg.nrrd").exists()


def test_run_merges_the_segmentation_flags_into_both_csvs(tmp_path, phantom_file, flagged_segmenter, capfd):  # noqa: F811
    assert main(["run", str(phantom_file), "-o", str(tmp_path / "res"), "-q"]) == 0
    discs = list(csv.DictReader((tmp_path / "res" / "case1_discs.csv").open()))
    vertebrae = {r["level"]: r for r in csv.DictReader((tmp_path / "res" / "case1_vertebrae.csv").open())}
    assert discs and all(r["qc"] == qf.L5_NOT_RECOGNISED for r in discs)  # a case flag is on every row
    assert vertebrae["L4"]["qc"] == f"{L4_FLAG}; {qf.L5_NOT_RECOGNISED}"
    assert vertebrae["L3"]["qc"] == qf.L5_NOT_RECOGNISED
    measured = json.loads((tmp_path / "res" / "case1_measurements.json").read_text())
    assert measured["qc"]["segmentation"]["structures"]["L4"]["confidence"] == 0.5
    err = capfd.readouterr().err
    assert f"disccore run: warning: case1 needs review: {qf.L5_NOT_RECOGNISED}; L4: {L4_FLAG}" in err


def _summary(outdir: Path) -> dict:
    with open(outdir / "summary.csv", newline="") as f:
        return {row["case"]: row for row in csv.DictReader(f)}


def test_summary_says_which_cases_need_review_also_after_resume(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("bad1", "clean2", "flagged3"):
        (folder / f"{name}.nii.gz").write_bytes(b"stand-in")
    run_batch([folder], tmp_path / "out", case_fn=fake_case)
    review = {case: row["needs_review"] for case, row in _summary(tmp_path / "out").items()}
    assert review == {"bad1": "", "clean2": "no", "flagged3": "yes"}
    results = run_batch([folder], tmp_path / "out", case_fn=fake_case, resume=True)
    assert {r.case: r.review for r in results if r.ok} == {"clean2": [], "flagged3": [FLAG]}  # read from the JSON
    assert {case: row["needs_review"] for case, row in _summary(tmp_path / "out").items()} == review


def test_batch_prints_one_warning_line_per_case_that_needs_review(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("clean1", "flagged2"):
        (folder / f"{name}.nii.gz").write_bytes(b"stand-in")
    for result in run_batch([folder], tmp_path / "out", case_fn=fake_case):
        print_case(result, "disccore batch")
    out, err = capsys.readouterr()
    assert "ok     clean1" in out and "ok     flagged2" in out
    assert err.splitlines() == [f"disccore batch: warning: flagged2 needs review: {FLAG}"]


def test_the_report_picture_warns_when_the_case_needs_review(tmp_path, phantom):  # noqa: F811
    from disccore import anatomy
    from disccore.measure import measure_segmentation
    from disccore.report import render_report, review_warning

    names = anatomy.default_label_names()
    result = measure_segmentation(phantom.labels, names)
    assert review_warning(result) is None
    render_report(phantom.image, phantom.labels, names, result, tmp_path / "clean.png")
    result.add_segmentation_quality(_flagged_quality())
    warning = review_warning(result)
    assert warning.replace("\n", " ") == f"Needs review: {qf.L5_NOT_RECOGNISED} (+1 more); see the qc column"
    assert 1 < len(warning.splitlines()) <= 3  # wrapped to the table's width
    assert review_warning(result.to_dict()) == review_warning(result)  # the case's JSON gives the same line
    render_report(phantom.image, phantom.labels, names, result, tmp_path / "flagged.png")
    assert (tmp_path / "clean.png").read_bytes() != (tmp_path / "flagged.png").read_bytes()


def test_run_on_the_bundled_sample_writes_the_quality_report(tmp_path):
    # the model is being retrained: whether this case is flagged is not asserted, only that the report is there
    assert main(["run", str(SAMPLE), "-o", str(tmp_path / "res"), "-q"]) == 0
    name = "synthetic_lumbar_t2"
    for table in ("discs", "vertebrae"):
        rows = list(csv.DictReader((tmp_path / "res" / f"{name}_{table}.csv").open()))
        assert rows and all("qc" in r for r in rows), table
    qc = json.loads((tmp_path / "res" / f"{name}_measurements.json").read_text())["qc"]
    signals = qc["segmentation"]
    assert signals["lumbar_bodies"] >= 1 and isinstance(signals["anchored_on_l5"], bool)
    assert all(0.0 <= s["confidence"] <= 1.0 for s in signals["structures"].values())
    assert any(s["slice_agreement"] is not None for s in signals["structures"].values())


def test_measure_alone_flags_a_missing_disc_in_its_csv_and_on_stderr(tmp_path, phantom, capfd):  # noqa: F811
    from disccore import anatomy
    from disccore.io import write_segmentation

    arr = phantom.labels.array.copy()
    arr[arr == anatomy.by_name("L3-L4").label] = 0  # as after deleting a segment in Slicer
    write_segmentation(SpatialImage(arr, phantom.labels.geometry), tmp_path / "edited.seg.nrrd")
    assert main(["measure", str(tmp_path / "edited.seg.nrrd"), "-o", str(tmp_path / "d.csv"), "-q"]) == 0
    flag = qf.missing_disc("L3-L4", "L3", "L4")
    assert {r["qc"] for r in csv.DictReader((tmp_path / "d.csv").open())} == {flag}
    assert f"disccore measure: warning: edited.seg.nrrd needs review: {flag}" in capfd.readouterr().err
