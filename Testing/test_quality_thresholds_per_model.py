"""The quality thresholds judged on a model's own output travel with that model (its manifest entry's
"quality_thresholds"), as its post-processing does: segmenting judges a model's probabilities by its own values."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
from test_models import copied_models, first_entry_with  # noqa: F401 (a fixture: the shipped models copied, found first)
from test_segment_pipeline import _stack_probabilities

from disccore import models
from disccore.errors import ModelError
from disccore.image import SpatialImage
from disccore.quality.thresholds import MODEL_CALIBRATED, THRESHOLDS, QualityThresholds


@pytest.fixture
def thresholds_entry(request):
    """A copy of the shipped models whose first entry's "quality_thresholds" a test rewrites (None: removed)."""
    dst = request.getfixturevalue("copied_models")
    return lambda section: first_entry_with(dst, "quality_thresholds", section)


def test_the_shipped_model_carries_the_thresholds_it_was_calibrated_with():
    doc = json.loads((models.list_models()[0].path.parent.parent / "manifest.json").read_text())
    assert doc["models"][0]["quality_thresholds"] == THRESHOLDS.for_manifest()  # today's values, flags unchanged
    assert sorted(doc["models"][0]["quality_thresholds"]) == sorted(MODEL_CALIBRATED)


def test_an_older_manifest_keeps_the_codes_thresholds_for_what_it_lacks(thresholds_entry):
    assert thresholds_entry(None).quality_thresholds == THRESHOLDS
    info = thresholds_entry({"min_confidence": 0.9})
    assert info.quality_thresholds == QualityThresholds(min_confidence=0.9)


@pytest.mark.parametrize("key", ["min_confidense", "merged_body_height_factor"])  # a typo; one that judges masks
def test_a_threshold_that_is_not_a_models_own_is_a_damaged_manifest(thresholds_entry, key):
    with pytest.raises(ModelError, match="damaged"):
        thresholds_entry({key: 0.9})


def test_segmenting_judges_the_probabilities_by_the_models_own_thresholds(thresholds_entry, monkeypatch):
    from disccore import segment
    from disccore.segment import backend, infer
    from disccore.segment.canonical import Reorientation

    # a stand-in network whose "model grid" is the image's own grid, every structure at probability 1
    probs, geom = _stack_probabilities(n_bodies=5, l5_index=4)
    prediction = infer.ModelGridPrediction(probs, geom, Reorientation((0, 1, 2), (False,) * 3), probs.shape[2:])
    stand_in = types.SimpleNamespace(description="a stand-in", note="")
    monkeypatch.setattr(backend, "get_backend", lambda *args, **kwargs: stand_in)
    monkeypatch.setattr(infer, "predict_on_model_grid", lambda *args, **kwargs: prediction)
    image = SpatialImage(np.random.default_rng(0).random(geom.size, np.float32), geom)

    def low_confidence(section):
        thresholds_entry(section)
        _, quality = segment.segment_image_with_quality(image, device="cpu")
        return sorted(n for n, s in quality.structures.items() if any("low confidence" in f for f in s.flags))

    assert low_confidence(None) == []
    flagged = low_confidence({"min_confidence": 1.01})  # a model that would have to be surer than certain
    assert "L3" in flagged and "L4-L5" in flagged
