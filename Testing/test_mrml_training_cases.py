"""Training cases from Slicer nodes (save, list, remove) and 'disccore adapt' started out of process."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest
from conftest_mrml import *  # noqa: F401,F403

pytestmark = pytest.mark.mrml


@pytest.fixture
def case_nodes(scene):
    from discmrml.segmentations import labelmap_to_segmentation
    from discmrml.selftest import synthetic_case

    case = synthetic_case(name="T2 sag 4mm", scene=scene)
    node, _ = labelmap_to_segmentation(case.labels, case.names, reference_volume=case.volume, scene=scene)
    return case, node


def test_a_saved_case_is_what_disccore_adapt_reads(case_nodes, tmp_path):
    from disccore.training.user_cases import find_user_cases, read_user_case
    from discmrml.training_cases import list_training_cases, save_training_case

    case, segmentation = case_nodes
    image_path = save_training_case(case.volume, segmentation, folder=tmp_path)
    assert image_path.name == "T2_sag_4mm.nrrd" and (tmp_path / "T2_sag_4mm.seg.nrrd").is_file()
    assert list_training_cases(tmp_path) == (tmp_path, ["T2_sag_4mm"])
    (user_case,) = find_user_cases(tmp_path)
    image, labels, names = read_user_case(user_case)  # same grid, scheme names
    assert sorted(names.values()) == case.structure_names
    assert image.geometry.same_grid(case.labels.geometry, tol=1e-4)
    for value, name in names.items():
        truth = next(v for v, n in case.names.items() if n == name)
        assert np.array_equal(labels.array == value, case.labels.array == truth), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_case_is_not_overwritten_and_can_be_removed(case_nodes, tmp_path):
    from disccore.errors import InputError, OutputError
    from discmrml.training_cases import list_training_cases, remove_training_case, save_training_case

    case, segmentation = case_nodes
    save_training_case(case.volume, segmentation, name="a", folder=tmp_path)
    before = (tmp_path / "a.seg.nrrd").read_bytes()
    with pytest.raises(OutputError, match="already exists"):
        save_training_case(case.volume, segmentation, name="a", folder=tmp_path)
    assert (tmp_path / "a.seg.nrrd").read_bytes() == before
    (tmp_path / "a.json").write_text("{}")  # a user's own file beside the case: not part of it
    removed = remove_training_case("a", folder=tmp_path)
    assert sorted(p.name for p in removed) == ["a.nrrd", "a.seg.nrrd"]
    assert list_training_cases(tmp_path) == (tmp_path, [])  # the stray .json is no case (and not an error)
    assert (tmp_path / "a.json").is_file()
    with pytest.raises(InputError, match="no training case named 'a'"):
        remove_training_case("a", folder=tmp_path)


def test_adapt_runs_out_of_process_with_progress(tmp_path, monkeypatch):
    from disccore.errors import InputError
    from discmrml.runner import adapt_command
    from discmrml.training_cases import start_user_adaptation

    assert adapt_command("cases", "out", parent="disc-unet2d", name="site-a", python="/py") == [
        "/py",
        "-m",
        "disccore",
        "adapt",
        "--cases",
        "cases",
        "-o",
        "out",
        "--from",
        "disc-unet2d",
        "--name",
        "site-a",
    ]
    fake = tmp_path / "fake_adapt.py"
    fake.write_text(
        textwrap.dedent("""
        import json, os, sys
        argv = sys.argv[1:]
        out = argv[argv.index("-o") + 1]
        print("adapt [##############..............]  50.0%    1.0s final model: iteration 150/300", flush=True)
        os.mkdir(out)
        json.dump(argv, open(os.path.join(out, "argv.json"), "w"))
    """)
    )
    monkeypatch.setenv("DISCCORE_USER_MODELS_DIR", str(tmp_path / "models"))
    seen = []
    process = start_user_adaptation(
        "site-a",
        parent="disc-unet2d",
        cases_folder=tmp_path / "cases",
        python=[sys.executable, str(fake)],
        progress=lambda f, m: seen.append((f, m)),
    )
    code = process.wait(timeout=60)
    process.raise_for_status(code)
    argv = json.loads((tmp_path / "models" / "site-a" / "argv.json").read_text())
    assert argv[:3] == ["-m", "disccore", "adapt"] and argv[argv.index("--name") + 1] == "site-a"
    assert seen == [(0.5, "final model: iteration 150/300")]
    with pytest.raises(InputError, match="name"):
        start_user_adaptation("../elsewhere", python=[sys.executable, str(fake)])


def test_a_failed_adaptation_reports_its_message(tmp_path, monkeypatch):
    from disccore.errors import InputError
    from discmrml.training_cases import start_user_adaptation

    fake = tmp_path / "fake_adapt.py"
    fake.write_text("import sys\nprint('disccore adapt: error: no cases in x', file=sys.stderr)\nsys.exit(2)\n")
    monkeypatch.setenv("DISCCORE_USER_MODELS_DIR", str(tmp_path / "models"))
    process = start_user_adaptation("site-a", python=[sys.executable, str(fake)], cases_folder=tmp_path)
    with pytest.raises(InputError, match="no cases in x"):
        process.raise_for_status(process.wait(timeout=60))
