"""Post-processing on the model's grid (issue 21): its geometry, the way back to the input grid, memory."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO_ROOT
from test_segment_pipeline import DIRECTIONS

from disccore import anatomy
from disccore.errors import ImageContentError
from disccore.image import Geometry
from disccore.segment.back_to_input import labels_to_input_grid
from disccore.segment.canonical import reorientation_for
from disccore.segment.classes import BODY, DISC, N_CLASSES
from disccore.segment.model_grid import model_grid_geometry
from disccore.segment.preprocess import normalise_intensity
from disccore.segment.resample import resize_last_two, source_positions

SAMPLE = REPO_ROOT / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"


@pytest.mark.parametrize("name", DIRECTIONS)
def test_the_model_grid_lies_where_the_resampled_slices_do(name):
    g = Geometry((30, 40, 12), [0.45, 0.7, 4.0], [10.0, -20.0, 5.0], DIRECTIONS[name])
    reo = reorientation_for(g.direction)
    canon_shape = reo.to_canonical(np.zeros(g.size)).shape
    model = model_grid_geometry(g, reo, (17, 23))
    for m in ([3, 5, 7], [0, 0, 0], [canon_shape[0] - 1, 16, 22]):
        canon = np.array([m[0], source_positions(canon_shape[1], 17)[m[1]], source_positions(canon_shape[2], 23)[m[2]]])
        source = np.zeros(3)
        for n, (p, flip) in enumerate(zip(reo.perm, reo.flips)):
            source[p] = canon_shape[n] - 1 - canon[n] if flip else canon[n]
        assert np.allclose(model.index_to_lps(m), g.index_to_lps(source), atol=1e-9)
    assert np.allclose(model.direction.T @ model.direction, np.eye(3))


def _disc_probabilities(shape, centre, radius, scale):
    """(C, slices, rows, columns): a disc-class blob with a smooth edge, the rest background."""
    rows, cols = np.mgrid[: shape[1], : shape[2]]
    r = np.hypot(rows - centre[0], cols - centre[1])
    p_disc = np.broadcast_to(1 / (1 + np.exp((r - radius) / scale)), shape)
    probs = np.zeros((N_CLASSES, *shape), np.float32)
    probs[DISC], probs[0] = p_disc, 1 - p_disc
    return probs


def _old_way(probs, size, rule):
    """What the whole-volume resampling did: interpolate every class, then decide."""
    return rule(resize_last_two(probs, size))


@pytest.mark.parametrize("threshold", [None, 0.7])  # an arg-max outline, a trimmed one
def test_a_structure_comes_back_as_if_its_probabilities_had_been_resampled(threshold):
    probs = _disc_probabilities((3, 24, 30), (11.3, 14.6), 6.2, 1.5)
    label = anatomy.discs()[0].label
    rule = (lambda p: p.argmax(0) == DISC) if threshold is None else (lambda p: p[DISC] >= threshold)
    labels = np.where(rule(probs), label, 0).astype(np.uint8)
    if threshold is not None:  # a trimmed outline is narrower than the arg-max one
        assert (labels > 0).sum() < (probs.argmax(0) == DISC).sum()
    size = (53, 71)
    back = labels_to_input_grid(labels, probs, size)
    expected = _old_way(probs, size, rule)
    assert (back == label).sum() > 500 and set(np.unique(back)) == {0, label}
    differ = (back == label) != expected
    if threshold is None:
        assert np.count_nonzero(differ) <= 2  # float rounding at the boundary only
    else:  # the threshold is known only between the least sure voxel kept and the surest one trimmed off
        kept, dropped = probs[DISC][labels > 0].min(), probs[DISC][labels == 0].max()
        p = resize_last_two(probs, size)[DISC]
        assert differ.any() <= ((p[differ] >= dropped) & (p[differ] <= kept)).all()


def test_two_touching_structures_of_one_class_meet_halfway_without_a_gap():
    probs = np.zeros((N_CLASSES, 1, 10, 12), np.float32)
    probs[BODY], probs[0] = 0.95, 0.05
    up, low = anatomy.by_name("L3").label, anatomy.by_name("L4").label
    labels = np.zeros((1, 10, 12), np.uint8)
    labels[:, :5], labels[:, 5:] = up, low  # a level cut, not a probability edge, separates them
    back = labels_to_input_grid(labels, probs, (40, 12))
    assert (back > 0).all()
    assert (back[0, :20] == up).all() and (back[0, 20:] == low).all()


def test_on_the_model_grid_already_the_labels_are_kept():
    labels = np.random.default_rng(0).integers(0, 3, size=(2, 5, 6)).astype(np.uint8)
    assert np.array_equal(labels_to_input_grid(labels, np.zeros((N_CLASSES, 2, 5, 6), np.float32), (5, 6)), labels)


def test_normalisation_is_the_contrast_stretch_of_the_whole_volume():
    a = np.random.default_rng(1).gamma(2.0, 100.0, size=(6, 20, 30)).astype(np.int16)
    a[0] = 0
    values = a[a != 0].astype(np.float32)
    lo, hi = np.percentile(values, [2.5, 97.5])
    expected = np.clip((a.astype(np.float32) - lo) / (hi - lo), -0.5, 1.5).astype(np.float32)
    assert np.array_equal(normalise_intensity(a), expected)


def test_a_volume_that_cannot_fit_is_refused_with_the_memory_it_needs(monkeypatch):
    from disccore.image import SpatialImage
    from disccore.segment import memory, segment_image

    monkeypatch.setattr(memory, "available_bytes", lambda: 2**30)
    # coarse pixels make a large model grid (1 mm): 8 slices of 1600 x 1600
    noise = np.random.default_rng(0).random((8, 8, 8), np.float32)  # an MRI's many values, not a label map
    image = SpatialImage(noise, Geometry((8, 8, 8), spacing=[1.0, 200.0, 200.0]))
    with pytest.raises(ImageContentError, match=r"needs about \d+\.\d GB of memory, 1\.0 GB is free"):
        segment_image(image, device="cpu")


def test_post_processing_on_the_model_grid_agrees_with_the_input_grid_on_the_sample():
    """The labels of the sample (0.6 mm in plane) as the whole-volume resampling gave them: Dice >= 0.99 each."""
    from disccore.io import read_image
    from disccore.models import resolve_model
    from disccore.segment import context_offsets, segment_image
    from disccore.segment.backend import get_backend
    from disccore.segment.infer import predict_probabilities
    from disccore.segment.levels import name_levels

    image = read_image(SAMPLE)
    info = resolve_model()
    probs = predict_probabilities(get_backend(info, "cpu"), image, info.input_spacing_mm, context_offsets(info))
    old = name_levels(probs, image.geometry)[0].array
    new = segment_image(image, device="cpu").array
    values = set(np.unique(old)) - {0}
    assert len(values) >= 10 and set(np.unique(new)) - {0} == values
    dice = {v: 2 * ((old == v) & (new == v)).sum() / ((old == v).sum() + (new == v).sum()) for v in values}
    assert min(dice.values()) >= 0.99, dice


def test_the_probabilities_written_in_place_equal_the_softmax_of_new_arrays():
    """The prediction loop writes each batch's softmax straight into the (classes, slices, ...) volume: the values
    must be exactly those of exp(l - max) / sum over the classes computed the plain way (bit for bit)."""
    from disccore.segment.infer import softmax_into

    logits = (np.random.default_rng(3).normal(size=(4, N_CLASSES, 9, 11)) * 8).astype(np.float32)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    plain = (e / e.sum(axis=1, keepdims=True)).transpose(1, 0, 2, 3)
    volume = np.zeros((N_CLASSES, 10, 9, 11), np.float32)
    softmax_into(logits.transpose(1, 0, 2, 3), volume[:, 3:7])
    assert np.array_equal(volume[:, 3:7], plain)
    assert not volume[:, :3].any() and not volume[:, 7:].any()
