"""segment.canal_edges: the canal's walls are cut back to the CSF signal on bright-CSF images, left alone on dark-CSF
ones. An experiment, not on the segment path: see benchmarks/canal_healthy.py."""

from __future__ import annotations

import numpy as np

from disccore import anatomy
from disccore.segment.canal_edges import CSF_EDGE_FRACTION, MIN_CSF_CONTRAST, refine_canal_edges

CANAL = anatomy.canal().label
DISC = anatomy.by_name("L4-L5").label
SPACING = (4.0, 0.6, 0.6)
CSF, FAT, ROOT, DARK = 1000.0, 720.0, 320.0, 60.0


def _scene(profile: list, labelled: slice, slices: int = 3, rows: int = 40):
    """A stack whose every row has this intensity profile along the AP columns, canal-labelled over ``labelled``."""
    image = np.tile(np.asarray(profile, float), (slices, rows, 1))
    labels = np.zeros(image.shape, np.uint8)
    labels[:, :, labelled] = CANAL
    return labels, image


def _canal_columns(labels: np.ndarray) -> list:
    return np.flatnonzero(labels[1, 20] == CANAL).tolist()


def test_fat_at_both_ends_is_cut_back_to_the_csf():
    profile = [DARK] * 5 + [FAT] * 3 + [CSF] * 10 + [FAT] * 4 + [DARK] * 5
    labels, image = _scene(profile, slice(5, 22))  # the network took the fat on both sides
    edges = refine_canal_edges(labels, image, SPACING, CANAL)
    assert edges.refined and edges.removed_voxels == 7 * labels.shape[0] * labels.shape[1]
    assert _canal_columns(labels) == list(range(8, 18))


def test_never_grows_into_bright_tissue_beyond_the_outline():
    profile = [DARK] * 5 + [CSF] * 14 + [DARK] * 5
    labels, image = _scene(profile, slice(8, 16))  # the outline stops short of the CSF on both sides
    before = labels.copy()
    refine_canal_edges(labels, image, SPACING, CANAL)
    np.testing.assert_array_equal(labels, before)


def test_dark_nerve_roots_inside_the_sac_are_kept():
    profile = [DARK] * 5 + [CSF] * 6 + [ROOT] * 3 + [CSF] * 2 + [FAT] * 3 + [DARK] * 5
    labels, image = _scene(profile, slice(5, 19))
    refine_canal_edges(labels, image, SPACING, CANAL)
    assert _canal_columns(labels) == list(range(5, 16))  # the fat cut, the roots and the CSF behind them kept


def test_a_row_without_csf_keeps_its_brightest_voxel():
    profile = [DARK] * 5 + [CSF] * 10 + [DARK] * 5
    labels, image = _scene(profile, slice(5, 15))
    image[:, 20, 5:15] = [FAT, FAT, 0.8 * CSF, FAT, FAT, FAT, FAT, FAT, FAT, FAT]  # a squeezed sac: a slit
    refine_canal_edges(labels, image, SPACING, CANAL)
    assert _canal_columns(labels) == [7]
    assert (labels[1, 19] == CANAL).sum() == 10  # the rows around it are untouched


def test_the_threshold_follows_the_local_csf_level():
    """A coil's slow fall-off darkens the CSF lower down: the rows there are judged against their own level."""
    profile = [DARK] * 5 + [CSF] * 10 + [FAT] * 3 + [DARK] * 5
    labels, image = _scene(profile, slice(5, 18), rows=120)
    image[:, 60:] *= 0.6  # the lower half: CSF at 600, below the upper half's threshold
    refine_canal_edges(labels, image, SPACING, CANAL)
    for row in (10, 110):
        assert np.flatnonzero(labels[1, row] == CANAL).tolist() == list(range(5, 15))
    assert CSF_EDGE_FRACTION * CSF > 0.6 * CSF  # the lower rows would have lost everything to a global level


def test_other_structures_are_not_touched():
    profile = [DARK] * 3 + [FAT] * 3 + [CSF] * 10 + [FAT] * 3 + [DARK] * 3
    labels, image = _scene(profile, slice(3, 19))
    labels[:, :, :3] = DISC
    refine_canal_edges(labels, image, SPACING, CANAL)
    assert (labels[:, :, :3] == DISC).all()
    assert (labels[:, :, 3:6] == 0).all()


def test_dark_csf_is_left_as_drawn_and_reported():
    """T1: the CSF is darker than the fat and bone around it, so its signal cannot place the wall."""
    profile = [CSF] * 5 + [FAT] * 3 + [0.12 * CSF] * 10 + [FAT] * 4 + [CSF] * 5
    labels, image = _scene(profile, slice(5, 22))
    before = labels.copy()
    edges = refine_canal_edges(labels, image, SPACING, CANAL)
    np.testing.assert_array_equal(labels, before)
    assert not edges.refined and edges.csf_contrast < MIN_CSF_CONTRAST and "T1" in edges.reason


def test_no_canal_is_no_change():
    labels = np.zeros((3, 10, 10), np.uint8)
    edges = refine_canal_edges(labels, np.ones(labels.shape), SPACING, CANAL)
    assert not edges.refined and not labels.any()
