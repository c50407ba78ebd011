"""segment.morphology gives what scipy.ndimage gave the segment path (labels, boxes, nearest piece, in-plane
dilation), and `disccore segment` no longer imports scipy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, subprocess_env

from disccore.segment import morphology

ndimage = pytest.importorskip("scipy.ndimage")

EXACT_SPACINGS = [
    (1.0, 1.0, 1.0),  # the model grid of the real series here: many exact ties
    (4.0, 0.5, 1.25),
]
# Spacings whose products round: where two voxels of different pieces lie exactly as far (their squared distances
# may then differ in the last bit), scipy's choice follows the rounding in its envelope of parabolas.
ROUNDED_SPACINGS = [
    (4.0, 1.00000003973643, 1.00000003973643),  # the bundled sample's model grid
    (3.3, 0.7, 0.7),
]


def _masks(seed: int, count: int, largest: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        shape = tuple(int(n) for n in rng.integers(1, largest, 3))
        yield rng, rng.random(shape) < rng.uniform(0.02, 0.4)


def test_pieces_are_labelled_and_numbered_as_scipy_does():
    for _, mask in _masks(0, 40, 25):
        expected, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
        lab, count = morphology.label(mask)
        assert count == n and lab.dtype == expected.dtype and np.array_equal(lab, expected)


def test_numbering_holds_on_a_volume_split_between_threads():
    mask = np.random.default_rng(1).random((30, 80, 60)) < 0.12  # thousands of pieces across the whole volume
    expected, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    lab, count = morphology.label(mask)
    assert count == n and np.array_equal(lab, expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.int32])
def test_boxes_are_scipys(dtype):
    for rng, mask in _masks(2, 40, 25):
        lab = np.where(mask, rng.integers(1, 9, mask.shape), 0).astype(dtype)  # some labels absent
        assert morphology.find_objects(lab) == ndimage.find_objects(lab)
    assert morphology.find_objects(np.zeros((3, 4, 5), np.uint8)) == []


def test_in_plane_dilation_is_scipys():
    cross = np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], bool)
    for _, mask in _masks(3, 30, 20):
        assert np.array_equal(morphology.dilate_in_plane(mask), ndimage.binary_dilation(mask, structure=cross))


def _nearest_cases(spacing):
    """(labels, voxels asked for, nearest label as morphology gives it, as scipy gives it, squared distance from each
    voxel to the nearest labelled voxel of that label by scipy, by morphology)."""
    for rng, mask in _masks(4, 20, 20):
        labels, _ = ndimage.label(mask & (rng.random(mask.shape) < 0.1))  # a few pieces, some touching
        if not labels.any():
            continue
        where = rng.random(mask.shape) < 0.7
        nearest = ndimage.distance_transform_edt(labels == 0, sampling=spacing, return_indices=True)[1]
        expected = labels[tuple(n[where] for n in nearest)]
        got = morphology.nearest_label(labels, spacing, where)
        yield labels, where, got, expected


@pytest.mark.parametrize("spacing", EXACT_SPACINGS)
def test_each_voxel_takes_the_label_scipy_finds_nearest(spacing):
    """Every voxel asked for, ties included (a unit spacing has many): the label of scipy's feature transform."""
    for _, _, got, expected in _nearest_cases(spacing):
        assert np.array_equal(got, expected)


@pytest.mark.parametrize("spacing", ROUNDED_SPACINGS)
def test_with_rounded_spacings_only_exact_ties_may_go_the_other_way(spacing):
    for labels, where, got, expected in _nearest_cases(spacing):
        for k in np.flatnonzero(got != expected):
            voxel = np.argwhere(where)[k]
            d = [_squared_distance(labels == i, voxel, spacing) for i in (got[k], expected[k])]
            assert d[0] == pytest.approx(d[1], rel=1e-12)


def _squared_distance(mask, voxel, spacing) -> float:
    return float(np.min(np.sum(((np.argwhere(mask) - voxel) * spacing) ** 2, axis=1)))


def test_segment_does_not_import_scipy(tmp_path):
    """Importing scipy.ndimage took 0.27 s of a 2 s `disccore segment`."""
    pytest.importorskip("onnxruntime")
    sample = REPO_ROOT / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"
    code = (
        "import sys\nfrom disccore.cli.main import main\n"
        f"rc = main(['segment', {str(sample)!r}, '-o', {str(tmp_path / 's.seg.nrrd')!r}, '-q', '--device', 'cpu'])\n"
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
