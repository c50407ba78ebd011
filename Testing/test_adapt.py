"""disccore adapt: user cases checked before any work, partial labels, a model folder with its lineage, model lookup."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT, subprocess_env

from disccore.errors import InputError, LabelError, OutputError

SAMPLES = REPO_ROOT / "Resources" / "Samples"
TINY = dict(iterations=2, batch_size=2, crop=64)  # plumbing, not learning: seconds


def _add_case(folder: Path, name: str, names: dict | None = None) -> None:
    """The bundled sample as a corrected case: NAME.nii.gz + NAME.seg.nii.gz + NAME.seg.json."""
    folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLES / "synthetic_lumbar_t2.nii.gz", folder / f"{name}.nii.gz")
    shutil.copy(SAMPLES / "synthetic_lumbar_t2_labels.nii.gz", folder / f"{name}.seg.nii.gz")
    sidecar = json.loads((SAMPLES / "synthetic_lumbar_t2_labels.json").read_text())
    if names is not None:
        sidecar = names
    (folder / f"{name}.seg.json").write_text(json.dumps(sidecar))


def _run_cli(*args, env_extra=None):
    env = dict(subprocess_env(), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "disccore", "adapt", *args], capture_output=True, text=True, env=env)


# --- refusals before long work ------------------------------------------------------------------


def test_refuses_a_folder_without_cases(tmp_path):
    from disccore.training.user_cases import find_user_cases

    with pytest.raises(InputError, match="no cases"):
        find_user_cases(tmp_path)


@pytest.mark.parametrize(
    "source, extra, message",
    [
        ("synthetic_lumbar_t2.nii.gz", "lonely.nii.gz", "'lonely.nii.gz' has no segmentation"),
        ("synthetic_lumbar_t2_labels.nii.gz", "orphan.seg.nii.gz", "'orphan.seg.nii.gz' has no image"),
        ("synthetic_lumbar_t2.nii.gz", "a.nii", "case 'a' has two images"),
        ("synthetic_lumbar_t2_labels.nii.gz", "a.seg.nii", "case 'a' has two segmentations"),
    ],
)
def test_refuses_an_unpaired_or_doubled_file(tmp_path, source, extra, message):
    from disccore.training.user_cases import find_user_cases

    _add_case(tmp_path, "a")
    shutil.copy(SAMPLES / source, tmp_path / extra)
    with pytest.raises(InputError, match=message):
        find_user_cases(tmp_path)


def test_refuses_a_segmentation_on_another_grid_naming_the_case(tmp_path):
    import SimpleITK as sitk

    from disccore.training.user_cases import find_user_cases, read_user_case

    _add_case(tmp_path, "a")
    seg = sitk.ReadImage(str(tmp_path / "a.seg.nii.gz"))
    seg.SetSpacing(tuple(2 * s for s in seg.GetSpacing()))
    sitk.WriteImage(seg, str(tmp_path / "a.seg.nii.gz"))
    (case,) = find_user_cases(tmp_path)
    with pytest.raises(InputError, match="case 'a'.*another voxel grid"):
        read_user_case(case)


def test_refuses_unknown_segment_names(tmp_path):
    from disccore.training.user_cases import find_user_cases, read_user_case

    names = json.loads((SAMPLES / "synthetic_lumbar_t2_labels.json").read_text())
    names[next(iter(names))] = "L9"
    _add_case(tmp_path, "a", names)
    (case,) = find_user_cases(tmp_path)
    with pytest.raises(LabelError, match="case 'a'"):
        read_user_case(case)


def test_cli_refuses_an_existing_output_before_reading_cases(tmp_path):
    (tmp_path / "out").mkdir()
    out = _run_cli("--cases", str(tmp_path / "no-such-folder"), "-o", str(tmp_path / "out"))
    assert out.returncode == 5, out.stderr
    assert "already exists" in out.stderr and out.stderr.count("\n") == 1


def test_cli_refuses_a_public_data_folder_that_is_not_there(tmp_path):
    out = _run_cli("--cases", str(tmp_path), "-o", str(tmp_path / "out"), "--data", str(tmp_path / "nowhere"))
    assert out.returncode != 0 and "--data" in out.stderr and "not a folder" in out.stderr
    assert not (tmp_path / "out").exists()


def test_the_public_data_is_found_for_replay_where_the_readme_puts_it(tmp_path, monkeypatch):
    from disccore.training import adapt as adapt_module

    given = tmp_path / "given"
    assert adapt_module.public_data_folder(given) == given  # given: taken as it is
    data = tmp_path / "shared" / "data"
    (data / "vb3").mkdir(parents=True)
    for suffix in ("_img.nii.gz", "_vertebrae.nii.gz"):
        (data / "vb3" / f"vb3-001{suffix}").touch()
    monkeypatch.delenv(adapt_module.PUBLIC_DATA_ENV, raising=False)
    monkeypatch.setattr(adapt_module, "SOURCE_TREE", tmp_path / "nowhere")
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")  # ../shared/data from here
    assert adapt_module.public_data_folder() == data.resolve()
    monkeypatch.chdir(tmp_path)  # nothing at ../shared/data
    assert adapt_module.public_data_folder() is None
    monkeypatch.setenv(adapt_module.PUBLIC_DATA_ENV, str(data))
    assert adapt_module.public_data_folder() == data.resolve()
    monkeypatch.setenv(adapt_module.PUBLIC_DATA_ENV, str(tmp_path / "empty"))
    assert adapt_module.public_data_folder() is None  # a folder without cases replays nothing


def test_refuses_to_write_into_the_shipped_models_folder():
    from disccore.training.model_folder import check_model_folder

    with pytest.raises(OutputError, match="shipped models"):
        check_model_folder(REPO_ROOT / "models" / "site-a", overwrite=True)


# --- partial labels -----------------------------------------------------------------------------------


def test_a_bodies_only_case_leaves_the_canal_unknown_and_derives_discs(tmp_path):
    from disccore.segment.classes import BODY, CANAL, DISC, L5_BODY
    from disccore.training.data import UNKNOWN
    from disccore.training.user_cases import find_user_cases, prepare_user_case

    names = json.loads((SAMPLES / "synthetic_lumbar_t2_labels.json").read_text())
    bodies = {v: n for v, n in names.items() if "-" not in n and n != "canal"}
    _add_case(tmp_path, "a", bodies)
    labels_path = tmp_path / "a.seg.nii.gz"
    import SimpleITK as sitk

    seg = sitk.ReadImage(str(labels_path))
    arr = sitk.GetArrayFromImage(seg)
    arr[~np.isin(arr, [int(v) for v in bodies])] = 0  # the user corrected only the bodies
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(seg)
    sitk.WriteImage(out, str(labels_path))
    (case,) = find_user_cases(tmp_path)
    prepared = prepare_user_case(case)
    assert {BODY, L5_BODY, DISC} <= prepared.annotated and CANAL not in prepared.annotated
    assert (prepared.target == CANAL).sum() == 0
    assert (prepared.target == UNKNOWN).any()  # not background: the canal may be anywhere there
    assert (prepared.target == DISC).sum() > 1000  # discs between the corrected bodies
    # their rim along the bodies may be disc or background, as in the parent's last cycle: derived discs fill the gap
    # between the outlines, manual ones stop short of it
    from scipy import ndimage

    from disccore.training.data import DISC_OR_BACKGROUND

    rim = prepared.target == DISC_OR_BACKGROUND
    assert rim.sum() > 100
    bodies_mask = (prepared.target == BODY) | (prepared.target == L5_BODY)
    in_plane = np.zeros((3, 3, 3), bool)
    in_plane[1] = True  # within the sagittal slice
    assert (ndimage.binary_dilation(bodies_mask, in_plane) & rim).sum() == rim.sum()  # all of it next to a body


# --- end to end ----------------------------------------------------------------------------------------


def test_adapt_writes_a_model_folder_with_lineage_and_leaves_the_parent_alone(tmp_path, monkeypatch):
    from disccore.models import list_models, resolve_model, sha256_of
    from disccore.training.adapt import AdaptConfig, adapt
    from disccore.training.model_folder import write_model_folder

    cases = tmp_path / "cases"
    for name in ("a", "b"):
        _add_case(cases, name)
    parent = resolve_model()
    parent_sha = sha256_of(parent.path)
    result = adapt(cases, config=AdaptConfig(**TINY))
    assert result.validation["held_out"] == ["a", "b"]  # few cases: each held out in turn
    summary = result.validation["summary"]
    assert set(summary["before"]) == {"vertebral bodies", "discs", "canal"} == set(summary["after"])
    assert summary["before"]["vertebral bodies"] > 0.8  # the parent segments the sample well
    folder = write_model_folder(result, tmp_path / "site-a", "site-a")
    entry = json.loads((folder / "manifest.json").read_text())["models"][0]
    assert entry["parent"] == {"name": parent.name, "version": parent.version, "sha256": parent_sha}
    assert set(entry["adapted"]["cases"]) == {"a", "b"} and entry["adapted"]["replayed"] == []
    assert entry["adapted"]["cases"]["a"]["a.nii.gz"] == sha256_of(cases / "a.nii.gz")
    assert entry["network"] == parent.network and "training_config" not in entry
    # runs as its parent runs, judged as its parent was calibrated
    assert entry["postprocessing"] == parent.entry["postprocessing"]
    assert entry["quality_thresholds"] == parent.entry["quality_thresholds"]
    assert entry["onnx_file"] == "model.onnx" and entry["onnx_sha256"] == sha256_of(folder / "model.onnx")
    assert "site-a" in (folder / "MODEL_CARD.md").read_text()
    assert sha256_of(parent.path) == parent_sha
    # found by folder, and by name in the user models folder
    adapted = resolve_model(str(folder))
    assert adapted.sha256_expected == entry["sha256"] and adapted.onnx_path == folder / "model.onnx"
    monkeypatch.setenv("DISCCORE_USER_MODELS_DIR", str(tmp_path))
    assert resolve_model("site-a").path == folder / "model.pt"
    assert [m.name for m in list_models() if m.user] == ["site-a"]


def test_adapt_is_deterministic_for_a_seed_and_moves_the_weights(tmp_path):
    import torch

    from disccore.models import resolve_model
    from disccore.training.adapt import AdaptConfig, adapt

    _add_case(tmp_path, "a")
    first, again = (adapt(tmp_path, config=AdaptConfig(**TINY)).net.state_dict() for _ in range(2))
    other = adapt(tmp_path, config=AdaptConfig(**TINY, seed=1)).net.state_dict()
    parent = torch.load(resolve_model().path, weights_only=True)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    assert not all(torch.equal(first[k], parent[k]) for k in first)


def test_replayed_slices_are_held_to_the_parents_outlines_only_when_asked(tmp_path):
    import torch

    from disccore.models import resolve_model
    from disccore.training.adapt import AdaptConfig, train_config_for
    from disccore.training.train import train_network
    from disccore.training.user_cases import find_user_cases, prepare_user_case

    _add_case(tmp_path, "a")
    (case,) = find_user_cases(tmp_path)
    user = prepare_user_case(case)
    parent = resolve_model()
    state = torch.load(parent.path, weights_only=True)

    def weights(cases, distill: float):
        # mostly replayed draws, so the few iterations surely include some
        config = train_config_for(parent, AdaptConfig(**TINY, distill_weight=distill, replay_weight=3.0))
        return train_network(cases, config, init_state=state).state_dict()

    replayed = [user, replace(user, dataset="replay")]
    plain, held = weights(replayed, 0.0), weights(replayed, 1.0)
    assert not all(torch.equal(plain[k], held[k]) for k in plain)
    without_replay = weights([user], 0.0)
    assert all(torch.equal(without_replay[k], v) for k, v in weights([user], 1.0).items())  # nothing to distil


def test_a_corrupt_user_model_is_refused_with_advice(tmp_path):
    from disccore.errors import ModelError
    from disccore.models import resolve_model

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"not weights")
    entry = {"name": "m", "version": "1.0.0", "file": "model.pt", "sha256": "0" * 64, "classes": ["background"]}
    (folder / "manifest.json").write_text(json.dumps({"format": 1, "models": [entry]}))
    with pytest.raises(ModelError, match="corrupt.*disccore adapt"):
        resolve_model(str(folder))


def test_validation_folds():
    from disccore.training.adapt import AdaptConfig, validation_folds

    assert validation_folds(1, AdaptConfig()) == []
    assert validation_folds(3, AdaptConfig()) == [[0], [1], [2]]
    (held,) = validation_folds(10, AdaptConfig(seed=3))
    assert len(held) == 2 and held == validation_folds(10, AdaptConfig(seed=3))[0]
    assert replace(AdaptConfig(), seed=4) != AdaptConfig()


def test_replayed_cases_are_drawn_at_the_replay_weight():
    from types import SimpleNamespace

    from disccore.training.train import TrainConfig, _case_sampler

    cases = [SimpleNamespace(dataset="user")] * 4 + [SimpleNamespace(dataset="replay")] * 6
    weight = TrainConfig().replay_weight
    draw = _case_sampler(cases, np.random.default_rng(0), {"replay": weight})
    share = np.mean([draw() >= 4 for _ in range(4000)])  # datasets are drawn first, then a case within
    assert abs(share - weight / (1 + weight)) < 0.02


@pytest.mark.shared_data
def test_replayed_body_cases_leave_their_derived_discs_rim_open(shared_data):
    from disccore.training.adapt import AdaptConfig, replay_cases
    from disccore.training.data import DISC_OR_BACKGROUND

    cases = replay_cases(shared_data, replace(AdaptConfig(), replay_cases=3), lambda m: None, "bright-run")
    assert {c.dataset for c in cases} == {"replay"}
    with_derived_discs = [c for c in cases if not c.name.startswith("ivd")]  # the body datasets' discs are derived
    assert with_derived_discs and all((c.target == DISC_OR_BACKGROUND).any() for c in with_derived_discs)


def test_the_command_line_sets_the_recipe_and_leaves_the_rest_at_the_defaults():
    from disccore.cli.cmd_adapt import adapt_config
    from disccore.cli.main import build_parser
    from disccore.training.adapt import AdaptConfig

    parse = lambda *extra: build_parser().parse_args(["adapt", "--cases", "c", "--name", "n", *extra])  # noqa: E731
    assert adapt_config(parse()) == AdaptConfig()
    set_here = adapt_config(
        parse("--anchor-weight", "0.1", "--iterations", "50", "--seed", "3", "--distill-weight", "1")
    )
    assert set_here == AdaptConfig(anchor_weight=0.1, iterations=50, seed=3, distill_weight=1.0)


@pytest.mark.parametrize("option", ["--anchor-weight", "--distill-weight"])
def test_cli_refuses_a_negative_weight(tmp_path, option):
    out = _run_cli("--cases", str(tmp_path), "--name", "x", option, "-1")
    assert out.returncode != 0 and option in out.stderr and out.stderr.count("\n") == 1


def test_the_replay_teaches_the_sac_by_the_rule_the_parent_learned():
    from types import SimpleNamespace

    from disccore.errors import ModelError
    from disccore.training.adapt import AdaptConfig, parent_sac_label, train_config_for

    def parent(entry):
        return SimpleNamespace(name="p", entry=entry, network={}, input_spacing_mm=(1.0, 1.0))

    assert parent_sac_label(parent({})) == "bright-run"  # recorded since 3.0.0's successor; 3.0.0 learned this one
    learned_roots = parent({"training_config": {"sac_label": "with-roots"}})
    assert train_config_for(learned_roots, AdaptConfig()).sac_label == "with-roots"
    with pytest.raises(ModelError, match="sac label rule"):
        parent_sac_label(parent({"training_config": {"sac_label": "unheard-of"}}))
