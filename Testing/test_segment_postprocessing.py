"""The post-processing parameters travel with the model: read from its manifest entry, used by segment_image."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from test_models import copied_models, first_entry_with  # noqa: F401 (a fixture: the shipped models copied, found first)
from test_segment_pipeline import _stack_probabilities

from disccore import anatomy, models
from disccore.errors import ModelError
from disccore.image import SpatialImage
from disccore.segment.postprocessing import PostProcessing


@pytest.fixture
def manifest_entry(request):
    """A copy of the shipped models whose first entry's "postprocessing" a test rewrites (None: removed)."""
    dst = request.getfixturevalue("copied_models")
    return lambda section: first_entry_with(dst, "postprocessing", section)


def test_the_shipped_model_carries_its_postprocessing():
    doc = json.loads((models.list_models()[0].path.parent.parent / "manifest.json").read_text())
    assert doc["models"][0]["postprocessing"] == asdict(PostProcessing())  # today's values, outputs unchanged


def test_an_older_manifest_takes_the_defaults_for_what_it_lacks(manifest_entry):
    assert manifest_entry(None).postprocessing == PostProcessing()
    info = manifest_entry({"body_section_share": 0.0})
    assert info.postprocessing == PostProcessing(body_section_share=0.0)


def test_an_unknown_postprocessing_key_is_a_damaged_manifest(manifest_entry):
    with pytest.raises(ModelError, match="damaged"):
        manifest_entry({"body_trim_probabilty": 0.9})


def test_segment_image_uses_the_models_postprocessing_and_says_what_it_set_aside(manifest_entry, monkeypatch):
    import types

    from disccore import segment
    from disccore.segment import backend, infer
    from disccore.segment.canonical import Reorientation

    # every body also in the slices either side, only 10 voxels there: cut off by the lateral step (share 0.4), kept
    # with a model whose manifest sets the share to 0; the sixth body, below L5, is set aside. The network is a
    # stand-in whose "model grid" is the image's own grid.
    probs, geom = _stack_probabilities(lateral_ends=True)
    prediction = infer.ModelGridPrediction(probs, geom, Reorientation((0, 1, 2), (False,) * 3), probs.shape[2:])
    stand_in = types.SimpleNamespace(description="a stand-in", note="")
    monkeypatch.setattr(backend, "get_backend", lambda *args, **kwargs: stand_in)
    monkeypatch.setattr(infer, "predict_on_model_grid", lambda *args, **kwargs: prediction)
    image = SpatialImage(np.random.default_rng(0).random(geom.size, np.float32), geom)  # an MRI, not a label map
    l2 = anatomy.by_name("L2").label
    for share, voxels in ((0.4, 8 * 5 * 15), (0.0, 8 * 5 * 15 + 2 * 2 * 5)):
        manifest_entry({"body_section_share": share})
        messages = []
        labels = segment.segment_image(image, device="cpu", progress=lambda f, m, seen=messages: seen.append(m))
        assert int((labels.array == l2).sum()) == voxels
        assert any(m.startswith("set aside (not named): a vertebral body below L5") for m in messages), messages


def test_l5_keeps_only_the_voxels_its_own_threshold_allows():
    from disccore.segment.classes import BODY, L5_BODY
    from disccore.segment.levels import name_levels

    probs, geom = _stack_probabilities(n_bodies=5, l5_index=4)
    first, _ = name_levels(probs, geom)
    masks = {n: first.array == anatomy.by_name(n).label for n in ("L3", "L5")}
    doubtful = np.random.default_rng(0).random(first.array.shape) < 0.2  # a fifth of each body at 0.9, the rest 0.99
    for name, cls in (("L3", BODY), ("L5", L5_BODY)):
        probs[cls][masks[name]] = 0.99
        probs[cls][masks[name] & doubtful] = 0.9
    for l5_trim, l5_kept in ((0.85, masks["L5"]), (0.95, masks["L5"] & ~doubtful)):
        labels, _ = name_levels(probs, geom, l5_body_trim_probability=l5_trim)
        assert np.array_equal(labels.array == anatomy.by_name("L5").label, l5_kept)
        assert np.array_equal(labels.array == anatomy.by_name("L3").label, masks["L3"])  # the others' threshold
