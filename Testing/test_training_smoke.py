"""A bounded training run end to end (the recipe itself runs with `disccore train`, see the model card)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from disccore.models import ModelInfo, sha256_of
from disccore.quality.thresholds import THRESHOLDS, QualityThresholds
from disccore.segment import load_network
from disccore.segment.classes import BODY, CANAL, DISC, L5_BODY
from disccore.segment.postprocessing import PostProcessing
from disccore.training.data import (
    DISC_OR_BACKGROUND,
    IGNORE,
    UNKNOWN,
    UNKNOWN_OR_CANAL,
    list_cases,
    mark_disc_endplate_margin,
    prepare_case,
    synthetic_cases,
    with_disc_endplate_margin,
)
from disccore.training.run import run_training
from disccore.training.train import TrainConfig, allowed_classes, partial_label_loss, train_network


@pytest.mark.shared_data
@pytest.mark.slow
def test_smoke_training_exports_a_loadable_model(shared_data, tmp_path):
    cfg = TrainConfig(iterations=3, cycles=1, batch_size=2, crop=64, features=(8, 8, 16, 32, 64, 8))
    weights = run_training(shared_data, tmp_path / "m", cfg, limit_cases=1, log=lambda m: None)
    entry = json.loads((tmp_path / "m" / "entry.json").read_text())
    assert entry["sha256"] == sha256_of(weights)
    assert entry["network"]["features"] == [8, 8, 16, 32, 64, 8]  # inference builds the architecture from it
    assert PostProcessing.from_manifest(entry["postprocessing"]) == PostProcessing()  # the defaults, to be tuned
    assert QualityThresholds.from_manifest(entry["quality_thresholds"]) == THRESHOLDS  # the same
    info = ModelInfo(
        entry["name"], entry["version"], weights, classes=tuple(entry["classes"]), network=entry["network"]
    )
    net = load_network(info)
    assert sum(p.numel() for p in net.parameters()) > 1000
    # the ONNX export beside the weights, with its sha256, computes what the weights do
    from disccore.segment.backend import OnnxBackend, TorchBackend

    onnx_path = tmp_path / entry["onnx_file"]
    assert entry["onnx_file"] == "m/model.onnx" and entry["onnx_sha256"] == sha256_of(onnx_path)
    x = np.random.default_rng(0).normal(size=(2, len(entry["network"]["context_offsets_mm"]), 64, 48))
    assert np.abs(OnnxBackend(onnx_path)(x) - TorchBackend(net)(x)).max() < 1e-3


@pytest.mark.shared_data
def test_a_second_cycle_starts_from_the_given_weights(shared_data, tmp_path):
    from dataclasses import replace

    import torch

    case = prepare_case(next(c for c in list_cases(shared_data) if c.dataset == "vb3"))
    # learning rate 0: the weights a run ends with are the weights it started from
    cfg = TrainConfig(iterations=1, cycles=1, batch_size=1, crop=64, synthetic_cases=0, learning_rate=0.0, threads=1)
    first = train_network([case], replace(cfg, seed=1))
    torch.save(first.state_dict(), tmp_path / "w.pt")
    second = train_network([case], replace(cfg, init_weights=str(tmp_path / "w.pt")))
    fresh = train_network([case], cfg)
    same = lambda a, b: all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert same(first, second) and not same(first, fresh)
    from disccore.errors import InputError

    with pytest.raises(InputError, match="do not fit a network with features"):
        train_network([case], replace(cfg, init_weights=str(tmp_path / "w.pt"), features=(8, 8, 16, 32, 64, 8)))


@pytest.mark.shared_data
@pytest.mark.slow
def test_training_cycles_equal_chained_runs_from_saved_weights(shared_data, tmp_path):
    """The shipped weights were trained as chained runs (--init, one cycle each); --cycles does the same in one."""
    from dataclasses import replace

    import torch

    # the disc endplate margin from the second cycle on, as in the recipe (from the fourth)
    cfg = TrainConfig(
        iterations=2,
        cycles=2,
        cycle_iterations=2,
        batch_size=2,
        crop=64,
        synthetic_cases=1,
        threads=1,
        disc_margin_from_cycle=2,
    )
    quiet = {"limit_cases": 1, "log": lambda m: None}
    both = run_training(shared_data, tmp_path / "both", cfg, **quiet)
    first = run_training(shared_data, tmp_path / "first", replace(cfg, cycles=1), **quiet)
    second_cfg = replace(
        cfg,
        cycles=1,
        iterations=cfg.cycle_iterations,
        learning_rate=cfg.cycle_learning_rate,
        seed=cfg.seed + 1,
        init_weights=str(first),
        disc_margin_from_cycle=1,
    )
    second = run_training(shared_data, tmp_path / "second", second_cfg, **quiet)
    no_margin = run_training(shared_data, tmp_path / "no_margin", replace(second_cfg, disc_endplate_margin=0), **quiet)
    load = lambda p: torch.load(p, weights_only=True)
    same = lambda a, b: all(torch.equal(a[k], b[k]) for k in a)
    assert same(load(both), load(second)) and not same(load(first), load(second))
    assert not same(load(second), load(no_margin))  # the margin is applied in that cycle


@pytest.mark.shared_data
def test_init_with_several_folds_is_refused(shared_data, tmp_path, capsys):
    from disccore.cli.main import main
    from disccore.errors import InputError

    (tmp_path / "w.pt").write_bytes(b"")
    args = ["train", "--data", str(shared_data), "-o", str(tmp_path / "cv"), "--folds", "3", "--cv-only"]
    assert main(args + ["--init", str(tmp_path / "w.pt")]) == InputError.exit_code
    assert "exactly one --fold" in capsys.readouterr().err
    assert main(args + ["--fold", "0", "--init", str(tmp_path / "missing.pt")]) == InputError.exit_code
    assert "no weights file" in capsys.readouterr().err
    assert not (tmp_path / "cv").exists()


def test_train_features_option_is_checked(capsys):
    from disccore.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", "x", "-o", "y", "--features", "16,16,32"])
    assert exit_info.value.code == 2 and "six positive integers" in capsys.readouterr().err


@pytest.mark.shared_data
def test_training_targets_follow_the_annotation(shared_data):
    cases = {c.dataset: c for c in list_cases(shared_data)}
    vb = prepare_case(cases["vb3"])
    assert {BODY, L5_BODY, DISC} <= vb.annotated  # discs derived between annotated bodies
    ivd = prepare_case(cases["ivd"])
    assert DISC in ivd.annotated and BODY not in ivd.annotated
    for p in (vb, ivd):
        codes = set(np.unique(p.target).tolist())
        assert codes <= {IGNORE, UNKNOWN_OR_CANAL, UNKNOWN, 0, BODY, L5_BODY, DISC, CANAL}
        assert IGNORE in codes  # beyond the annotated part of the column


def test_partial_label_loss_ignores_unannotated_classes():
    import torch

    target = torch.full((1, 4, 4), UNKNOWN, dtype=torch.long)
    target[0, 0, 0] = DISC
    unannotated = torch.zeros((1, 5), dtype=torch.bool)
    unannotated[0, 0] = unannotated[0, BODY] = True  # background and body unannotated in this image
    allowed = allowed_classes(target, unannotated)
    assert allowed[0, :, 0, 0].tolist() == [False, False, False, True, False]
    assert allowed[0, :, 1, 1].tolist() == [True, True, False, False, False]
    # predicting "body" where unannotated costs (almost) nothing; predicting "disc" there does
    logits_body = torch.full((1, 5, 4, 4), -10.0)
    logits_body[:, BODY] = 10.0
    logits_body[0, :, 0, 0] = -10.0
    logits_body[0, DISC, 0, 0] = 10.0
    logits_disc = torch.full((1, 5, 4, 4), -10.0)
    logits_disc[:, DISC] = 10.0
    assert (
        partial_label_loss(logits_body, target, unannotated)
        < 0.1
        < partial_label_loss(logits_disc, target, unannotated)
    )


def test_distillation_costs_nothing_at_the_teachers_output_and_pulls_towards_it():
    import torch

    from disccore.segment.network import build_network
    from disccore.training.train import _frozen_copy, distillation_loss

    torch.manual_seed(0)
    net = build_network(5, (4, 4, 8, 8, 16, 4), in_channels=1, dropout=0.0).eval()
    teacher = _frozen_copy(net)
    x = torch.randn(2, 1, 32, 32)
    assert float(distillation_loss(net(x), teacher, x)) == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        next(net.parameters()).add_(0.5)
    loss = distillation_loss(net(x), teacher, x)
    loss.backward()
    assert float(loss) > 1e-3
    assert all(p.grad is None for p in teacher.parameters()) and next(net.parameters()).grad.abs().sum() > 0


def test_a_derived_disc_may_be_thinner_along_the_bodies():
    # canonical (slices, rows down, columns back): a body in rows 0-3, a disc in rows 4-9, a body in rows 10-13
    target = np.zeros((3, 14, 6), np.int8)
    target[:, :4], target[:, 4:10], target[:, 10:] = BODY, DISC, BODY
    untouched = target.copy()
    mark_disc_endplate_margin(target, target == BODY, 1)
    assert (target[:, [4, 9]] == DISC_OR_BACKGROUND).all() and (target[:, 5:9] == DISC).all()
    assert (target[:, :4] == BODY).all() and (target[:, 10:] == BODY).all()
    mark_disc_endplate_margin(untouched, np.zeros(untouched.shape, bool), 1)  # a manual disc: no bodies drawn
    assert (untouched[:, 4:10] == DISC).all()


@pytest.mark.shared_data
def test_the_disc_margin_applies_to_derived_discs_only(shared_data):
    cases = {c.dataset: c for c in list_cases(shared_data)}
    vb, ivd = prepare_case(cases["vb3"]), prepare_case(cases["ivd"])
    assert with_disc_endplate_margin(ivd, 1) is ivd and with_disc_endplate_margin(vb, 0) is vb
    thinner = with_disc_endplate_margin(vb, 1)
    rim = thinner.target == DISC_OR_BACKGROUND
    assert rim.any() and (vb.target[rim] == DISC).all() and DISC_OR_BACKGROUND not in vb.target  # a copy


def test_the_disc_rim_along_the_bodies_may_be_disc_or_background_but_not_body():
    import torch

    target = torch.full((1, 6, 4), BODY, dtype=torch.long)
    target[0, 1:5] = DISC
    target[0, [1, 4]] = DISC_OR_BACKGROUND
    unannotated = torch.zeros((1, 5), dtype=torch.bool)
    unannotated[0, 0] = True
    assert allowed_classes(target, unannotated)[0, :, 1, 0].tolist() == [True, False, False, True, False]

    def loss(rim_class):
        logits = torch.full((1, 5, 6, 4), -10.0)
        logits[0, BODY, [0, 5]] = 10.0
        logits[0, DISC, 2:4] = 10.0
        logits[0, rim_class, 1] = logits[0, rim_class, 4] = 10.0
        return float(partial_label_loss(logits, target, unannotated))

    # disc or background on the rim costs (almost) nothing, neither in cross-entropy nor in the disc's Dice
    assert loss(DISC) < 0.01 and loss(0) < 0.01 < 1 < loss(BODY)


def test_a_cycle_whose_draws_include_an_impossible_anatomy_still_gets_its_phantoms(monkeypatch):
    # a draw can make a disc so thin and wedged that the phantom refuses it (a fourth training cycle once stopped
    # there): that draw is replaced, not fatal
    import disccore.phantom as phantom

    real, calls = phantom.make_lumbar_phantom, []

    def refusing_every_third(**kw):
        calls.append(1)
        if len(calls) % 3 == 1:
            raise ValueError("disc L4-L5: height 6 mm with a wedge of 20 deg leaves no disc at its rim")
        return real(**kw)

    monkeypatch.setattr(phantom, "make_lumbar_phantom", refusing_every_third)
    cases = synthetic_cases(4, seed=3)
    assert len(cases) == 4 and len(calls) > 4 and all((c.target == CANAL).any() for c in cases)


@pytest.mark.parametrize("sac_label, with_roots", [("bright-run", False), ("with-roots", True)])
def test_the_phantoms_carry_roots_and_a_dura_only_under_the_rule_that_labels_roots_as_sac(
    monkeypatch, sac_label, with_roots
):
    drawn = _phantom_draws(monkeypatch, 8, sac_label=sac_label)
    roots, dura = np.array([(kw["root_layer_mm"], kw["dura_mm"]) for kw in drawn]).T
    assert len(drawn) >= 8
    assert (roots > 0).any() == with_roots and (dura > 0).any() == with_roots


def _phantom_draws(monkeypatch, n: int, **kw) -> list[dict]:
    """The arguments of every phantom drawn for ``synthetic_cases(n, seed=0, **kw)``."""
    import disccore.phantom as phantom

    drawn, real = [], phantom.make_lumbar_phantom

    def recording(**args):
        drawn.append(args)
        return real(**args)

    monkeypatch.setattr(phantom, "make_lumbar_phantom", recording)
    synthetic_cases(n, seed=0, **kw)
    return drawn


def test_the_command_line_names_the_sac_label_rule_and_the_default_is_the_shipped_models():
    from disccore.cli.main import build_parser
    from disccore.training.sac_rules import DEFAULT_SAC_LABEL

    parse = lambda *extra: build_parser().parse_args(["train", "--data", "d", "-o", "o", *extra])  # noqa: E731
    assert parse().sac_label is None and TrainConfig().sac_label == DEFAULT_SAC_LABEL == "bright-run"
    assert parse("--sac-label", "with-roots").sac_label == "with-roots"
    with pytest.raises(SystemExit):
        parse("--sac-label", "wider")


def test_some_training_phantoms_carry_a_wedge_fracture_above_the_sacrum(monkeypatch):
    drawn = _phantom_draws(monkeypatch, 24)
    fractured = [(kw["levels"], kw["fractures"]) for kw in drawn if kw["fractures"]]
    assert 0 < len(fractured) < len(drawn)
    for levels, f in fractured:
        ((body, loss),) = f.items()
        assert body in levels[:-1] and 0.2 <= loss <= 0.6
