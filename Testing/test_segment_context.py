"""Neighbouring slices as input channels: placed in mm, interpolated, clamped; thick-slice simulation."""

from __future__ import annotations

import numpy as np

from disccore.segment.context import context_slices, thick_context
from disccore.training.augment import sample_slice
from disccore.training.data import PreparedCase


def _ramp(n=30, h=4, w=5):
    """Volume whose value is the slice index: any linear interpolation along slices is exact on it."""
    return np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, h, w), np.float32)


def test_channels_lie_at_the_offsets_in_mm():
    v = _ramp()
    out = context_slices(v, [10, 20], (-6.0, 0.0, 3.0), slice_spacing_mm=1.0)
    assert out.shape == (2, 3, 4, 5)
    assert out[:, :, 0, 0].tolist() == [[4, 10, 13], [14, 20, 23]]
    # 4 mm slices: 3 mm is three quarters of a slice, interpolated linearly
    thick = context_slices(v, [10], (-6.0, 0.0, 3.0), slice_spacing_mm=4.0)
    assert np.allclose(thick[0, :, 0, 0], [8.5, 10.0, 10.75])


def test_channels_beyond_the_volume_repeat_its_last_slice():
    v = _ramp(n=12)
    out = context_slices(v, [0, 11], (-6.0, 6.0), slice_spacing_mm=1.0)
    assert out[:, :, 0, 0].tolist() == [[0, 6], [5, 11]]


def test_thick_slice_context_averages_and_interpolates_like_an_acquisition():
    v = _ramp(n=60)
    offsets = (-6.0, -3.0, 0.0, 3.0, 6.0)
    for thickness in (3.0, 5.0):  # odd number of thin slices per thick slice: the ramp stays exact
        out = thick_context(v, 30, offsets, 1.0, thickness)
        assert out.shape == (5, 4, 5)
        assert np.allclose(out[:, 0, 0], [30 + d for d in offsets], atol=1e-5), (thickness, out[:, 0, 0])
    # the centre channel is the mean of the thin slices one thick slice covers
    assert np.isclose(thick_context(v, 30, (0.0,), 1.0, 5.0)[0, 0, 0], np.mean(np.arange(28, 33)))
    # near the end the context is clamped to thick slices that fit in the volume
    edge = thick_context(v, 1, offsets, 1.0, 4.0)[:, 0, 0]
    assert edge[0] == edge[1] == edge[2] and edge[3] > edge[2]


def test_training_samples_carry_one_channel_per_offset():
    rng = np.random.default_rng(0)
    image = np.repeat(np.linspace(0, 1, 48 * 48, dtype=np.float32).reshape(1, 48, 48), 20, axis=0)
    target = np.zeros((20, 48, 48), np.int8)
    target[8:12, 20:30, 20:30] = 1
    case = PreparedCase("c", "vb3", image, target, {1}, np.array([1.0, 1.0, 1.0]))
    x, t = sample_slice(rng, case, 32, augment=False, offsets_mm=(-3.0, 0.0, 3.0))
    assert tuple(x.shape) == (3, 32, 32) and tuple(t.shape) == (32, 32)
    assert np.allclose(x[0], x[1]) and np.allclose(x[1], x[2])  # identical slices -> identical channels
    correlations = []
    for _ in range(20):  # with augmentation the contrast changes alike in every channel (noise apart)
        x, _ = sample_slice(rng, case, 32, augment=True, offsets_mm=(-3.0, 0.0, 3.0))
        assert tuple(x.shape) == (3, 32, 32)
        if float(x[1].std()) > 0.05:
            correlations.append(np.corrcoef(x[0].reshape(-1), x[2].reshape(-1))[0, 1])
    assert len(correlations) > 10 and np.mean(correlations) > 0.8, correlations
