"""A bounded training run end to end (the recipe itself runs with `disccore train`, see the model card)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from disccore.models import ModelInfo, sha256_of
from disccore.segment import load_network
from disccore.segment.classes import BODY, CANAL, DISC, L5_BODY
from disccore.training.data import IGNORE, NOT_BODY, UNKNOWN, UNKNOWN_OR_CANAL, list_cases, prepare_case
from disccore.training.run import run_training
from disccore.training.train import TrainConfig, allowed_classes, partial_label_loss


@pytest.mark.shared_data
@pytest.mark.slow
def test_smoke_training_exports_a_loadable_model(shared_data, tmp_path):
    cfg = TrainConfig(iterations=3, batch_size=2, crop=64)
    weights = run_training(shared_data, tmp_path / "m", cfg, limit_cases=1, log=lambda m: None)
    entry = json.loads((tmp_path / "m" / "entry.json").read_text())
    assert entry["sha256"] == sha256_of(weights)
    info = ModelInfo(entry["name"], entry["version"], weights, classes=tuple(entry["classes"]),
                     network=entry["network"])
    net = load_network(info)
    assert sum(p.numel() for p in net.parameters()) > 1000


@pytest.mark.shared_data
def test_training_targets_follow_the_annotation(shared_data):
    cases = {c.dataset: c for c in list_cases(shared_data)}
    vb = prepare_case(cases["vb3"])
    assert {BODY, L5_BODY, DISC} <= vb.annotated  # discs derived between annotated bodies
    ivd = prepare_case(cases["ivd"])
    assert DISC in ivd.annotated and BODY not in ivd.annotated
    for p in (vb, ivd):
        codes = set(np.unique(p.target).tolist())
        assert codes <= {IGNORE, NOT_BODY, UNKNOWN_OR_CANAL, UNKNOWN, 0, BODY, L5_BODY, DISC, CANAL}
        assert IGNORE in codes  # above the annotated part of the column
    # canonical rows run superior -> inferior: right below L5 no body may be, but the L5-S1 disc may
    l5 = vb.target == L5_BODY
    slices, rows, cols = (np.nonzero(l5.any(axis=axes))[0] for axes in ((1, 2), (0, 2), (0, 1)))
    below = vb.target[slices.min() : slices.max() + 1, rows.max() + 1 : rows.max() + 6, cols.min() : cols.max() + 1]
    assert (below == NOT_BODY).mean() > 0.5 and not np.isin(below, (BODY, L5_BODY)).any()


def test_below_the_annotated_column_anything_but_a_body_is_allowed():
    import torch

    target = torch.full((1, 2, 2), NOT_BODY, dtype=torch.long)
    unannotated = torch.zeros((1, 5), dtype=torch.bool)
    unannotated[0, 0] = True
    allowed = allowed_classes(target, unannotated)
    assert allowed[0, :, 0, 0].tolist() == [True, False, False, True, True]  # background, disc, canal
    logits = torch.full((1, 5, 2, 2), -10.0)
    logits[:, BODY] = 10.0
    assert partial_label_loss(logits, target, unannotated) > 10  # a body there costs
    logits = torch.full((1, 5, 2, 2), -10.0)
    logits[:, DISC] = 10.0
    assert partial_label_loss(logits, target, unannotated) < 0.1  # an (unannotated) disc does not


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
    assert partial_label_loss(logits_body, target, unannotated) < 0.1 < partial_label_loss(logits_disc, target, unannotated)
