"""Pathology variants of training images (training.variants) and the derived canal's posterior wall (training.derive),
on a small constructed spine whose geometry is known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from disccore.segment.classes import BODY, CANAL, DISC
from disccore.training import variants
from disccore.training.data import PreparedCase
from disccore.training.derive import _without_posterior_spikes

DISC_ROWS = (55, 65)  # one disc, 10 mm high
DISC_COLS = (20, 60)
CANAL_COLS = (64, 80)  # a 16 mm sac behind it, 4 mm behind the disc's back


def _spine() -> PreparedCase:
    shape = (21, 120, 100)  # slices right->left, rows superior->inferior, columns anterior->posterior; 1 mm
    image = np.full(shape, 0.1, np.float32)
    target = np.zeros(shape, np.int8)
    target[:, 20:55, DISC_COLS[0] : DISC_COLS[1]] = BODY
    target[:, 65:100, DISC_COLS[0] : DISC_COLS[1]] = BODY
    target[:, DISC_ROWS[0] : DISC_ROWS[1], DISC_COLS[0] : DISC_COLS[1]] = DISC
    for s in range(4, 17):  # the sac's section: widest in the midline slice 10
        narrower = abs(s - 10)
        target[s, :, CANAL_COLS[0] + narrower : CANAL_COLS[1] - narrower] = CANAL
    image[target == BODY] = 0.4
    image[target == DISC] = 0.8
    image[target == CANAL] = 1.0
    return PreparedCase("spine", "vb3", image, target, {BODY, DISC, CANAL}, np.array([1.0, 1.0, 1.0]))


def _sac_extent(case: PreparedCase, row: int, slice_: int = 10) -> tuple[int, int]:
    cols = np.nonzero(case.target[slice_, row] == CANAL)[0]
    return int(cols.min()), int(cols.max()) + 1


def test_the_sac_behind_each_disc_is_found_with_its_ap_diameter():
    (site,) = variants.sac_sites(_spine())
    assert site.point[0] == pytest.approx(np.mean(DISC_ROWS) - 0.5, abs=0.5)
    assert site.ap == pytest.approx((0.0, 1.0), abs=1e-6)  # the disc's long axis: straight back
    assert site.ap_mm == pytest.approx(CANAL_COLS[1] - CANAL_COLS[0], abs=0.5)


def test_compressing_the_sac_narrows_it_at_the_disc_by_the_squeeze_and_keeps_its_back_wall():
    case = _spine()
    (site,) = variants.sac_sites(case)
    squeezed = variants.compress_sac_at(case, site, 6.0)
    (after,) = variants.sac_sites(squeezed)
    assert after.ap_mm == pytest.approx(site.ap_mm - 6.0, abs=0.5)
    row = int(round(site.point[0]))
    assert _sac_extent(squeezed, row)[1] == CANAL_COLS[1]  # the posterior wall stays
    assert _sac_extent(squeezed, row)[0] == pytest.approx(CANAL_COLS[0] + 6, abs=1)
    assert _sac_extent(squeezed, 10) == CANAL_COLS  # far from the disc nothing moved
    # the disc bulges back (with the thin gap behind it), its signal with it
    back_of_disc = np.nonzero(squeezed.target[10, row] == DISC)[0].max()
    assert back_of_disc >= DISC_COLS[1] + 3
    assert squeezed.image[10, row, back_of_disc] == pytest.approx(0.8, abs=0.1)


def test_a_c_curve_has_the_cobb_angle_asked_for_and_moves_the_spine_sideways():
    drift = variants.c_curve_drift(201, 1.0, 30.0)
    end_slopes = np.degrees(np.arctan(np.gradient(drift)[[0, -1]]))
    assert end_slopes[0] - end_slopes[-1] == pytest.approx(30.0, abs=0.5)
    case = _spine()
    bent = variants.curved(case, variants.c_curve_drift(case.image.shape[1], 1.0, 30.0))

    def canal_slice_centre(c, row):
        return np.nonzero((c.target[:, row] == CANAL).any(axis=1))[0].mean()

    moved = [canal_slice_centre(bent, r) - canal_slice_centre(case, r) for r in (5, 60, 114)]
    expected = variants.c_curve_drift(120, 1.0, 30.0)
    expected -= expected.mean()
    assert moved == pytest.approx(list(expected[[5, 60, 114]]), abs=1.0)


def _wide_spine() -> PreparedCase:
    """A body column 31 mm wide with the sac behind it, in a field wide enough to turn it (1 mm voxels)."""
    shape = (61, 120, 100)
    target = np.zeros(shape, np.int8)
    target[15:46, :, 20:60] = BODY
    target[25:36, :, 64:80] = CANAL
    image = np.where(target == BODY, 0.4, np.where(target == CANAL, 1.0, 0.1)).astype(np.float32)
    return PreparedCase("wide", "vb3", image, target, {BODY, CANAL}, np.array([1.0, 1.0, 1.0]))


def _centre(case: PreparedCase, row: int, cls: int) -> np.ndarray:
    s, c = np.nonzero(case.target[:, row] == cls)
    return np.array([s.mean(), c.mean()])


def test_a_curve_with_axial_rotation_turns_each_level_about_the_spine_most_at_the_apex():
    case = _wide_spine()
    drift = variants.c_curve_drift(case.image.shape[1], 1.0, 30.0)
    assert variants.cobb_angle(drift, 1.0) == pytest.approx(30.0, abs=0.5)
    plain, turned = variants.curved(case, drift), variants.curved(case, drift, 20.0)
    apex, end = 60, 1
    axis_ap = np.nonzero(case.target[:, apex] > 0)[1].mean()  # the labelled structures' centroid: the axis here
    # the sac lies behind the axis: turning the front of the body to the convex side (+ slices, where the curve
    # goes) swings the sac the other way, by its distance behind the axis times sin(20 degrees)
    behind = _centre(case, apex, CANAL)[1] - axis_ap
    swing = _centre(turned, apex, CANAL)[0] - _centre(plain, apex, CANAL)[0]
    assert swing == pytest.approx(-behind * np.sin(np.radians(20.0)), abs=1.0)
    assert _centre(turned, apex, BODY)[0] > _centre(plain, apex, BODY)[0] + 1.0  # the body in front: the other way
    # at the curve's neutral ends the levels are not turned
    assert _centre(turned, end, CANAL) == pytest.approx(_centre(plain, end, CANAL), abs=0.5)
    # labels stay labels: a turn keeps the sac's section (nearest-value sampling, no new codes)
    assert set(np.unique(turned.target)) <= {variants.UNKNOWN, 0, BODY, CANAL}
    assert (turned.target[:, apex] == CANAL).sum() == pytest.approx((case.target[:, apex] == CANAL).sum(), rel=0.15)


def test_the_training_curve_variant_turns_its_levels_too():
    case = _wide_spine()
    made = variants.lateral_curve(case, np.random.default_rng(3), sagitta_mm=15.0)
    # shifted alone, the sac would keep its place beside the body in every row; turned, the two part somewhere
    gaps = [_centre(made, r, CANAL)[0] - _centre(made, r, BODY)[0] for r in range(10, 110, 10)]
    assert np.ptp(gaps) > 1.0


def _front(case: PreparedCase, row: int, cls: int = BODY, slice_: int = 10) -> int:
    return int(np.nonzero(case.target[slice_, row] == cls)[0].min())


def test_anterolisthesis_slides_the_column_above_the_disc_forward_by_the_share_of_its_depth():
    case = _spine()
    plane = variants.disc_plane(case.target == DISC, case.spacing)
    assert plane.normal == pytest.approx((-1.0, 0.0), abs=1e-6)  # superior: towards lower rows
    assert plane.forward == pytest.approx((0.0, -1.0), abs=1e-6)  # anterior: towards lower columns
    assert plane.height_mm == pytest.approx(DISC_ROWS[1] - DISC_ROWS[0] - 1, abs=1.5)
    assert plane.depth_mm == pytest.approx(DISC_COLS[1] - DISC_COLS[0], abs=2.0)
    slid = variants.anterolisthesis(case, np.random.default_rng(0), share=0.25)
    slip = round(0.25 * plane.depth_mm)
    assert _front(slid, 30) == DISC_COLS[0] - slip  # the body above: forward by the whole slip
    assert _front(slid, 90) == DISC_COLS[0]  # the body below stays
    assert _sac_extent(slid, 30)[0] == CANAL_COLS[0] - slip  # the sac above moves with its vertebra
    assert DISC_COLS[0] - slip < _front(slid, 60, DISC) < DISC_COLS[0]  # the disc between is sheared, half way


def test_lordosis_pushes_the_middle_of_the_labelled_spine_forward_or_back_and_leaves_its_ends():
    case = _spine()
    labelled = np.nonzero((case.target > 0).any(axis=(0, 2)))[0]
    middle = (labelled[0] + labelled[-1]) // 2
    stronger = variants.lordosis(case, np.random.default_rng(0), sagitta_mm=8.0)
    flatter = variants.lordosis(case, np.random.default_rng(0), sagitta_mm=-8.0)
    assert _sac_extent(stronger, middle)[0] == CANAL_COLS[0] - 8
    assert _sac_extent(flatter, middle)[0] == CANAL_COLS[0] + 8
    assert _sac_extent(stronger, 0) == CANAL_COLS  # the first labelled row: not moved
    assert variants.lordosis(replace(case, target=np.zeros_like(case.target)), np.random.default_rng(0)) is None


def test_a_degenerated_disc_is_darker_and_thinner_and_its_label_follows():
    case = _spine()
    disc = case.target == DISC
    worn = variants.degenerate_disc(case, disc, darkening=0.4, thinning=0.6)
    rows = np.nonzero((worn.target[10] == DISC).any(axis=1))[0]
    assert len(rows) == pytest.approx(0.6 * (DISC_ROWS[1] - DISC_ROWS[0]), abs=1)
    assert worn.image[10, int(rows.mean()), 40] == pytest.approx(0.8 * 0.4, abs=0.05)
    assert (worn.target[10, :15] == case.target[10, :15]).all()  # rows beyond the reach stay


def test_only_hand_drawn_discs_get_the_extra_degenerated_variants_each_thinner():
    from dataclasses import replace

    drawn, derived = replace(_spine(), name="drawn", dataset="ivd"), _spine()
    made = variants.degenerated_manual_discs([drawn, derived], 3, seed=5)
    assert [v.name for v in made] == ["drawn+degenerated 1", "drawn+degenerated 2", "drawn+degenerated 3"]
    assert all(v.dataset == "variant" for v in made)
    height = DISC_ROWS[1] - DISC_ROWS[0]
    for v in made:
        assert (v.target[10] == DISC).any(axis=1).sum() < height
    again = variants.degenerated_manual_discs([drawn, derived], 3, seed=5)
    assert all(np.array_equal(a.target, b.target) and np.array_equal(a.image, b.image) for a, b in zip(made, again))


def test_variants_are_deterministic_for_a_seed_and_labelled_as_such():
    cases = [_spine()]
    first, second = variants.pathology_variants(cases, 7), variants.pathology_variants(cases, 7)
    assert [v.name for v in first] == [v.name for v in second]
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.target, b.target) for a, b in zip(first, second))
    assert all(v.dataset == "variant" and v.name.startswith("spine+") for v in first)
    kinds = {v.name.split("+")[1] for seed in range(12) for v in variants.pathology_variants(cases, seed)}
    assert kinds == set(variants.VARIANT_SHARES)


def test_the_derived_sac_is_cut_back_where_it_runs_into_the_fat_behind_it():
    runs = [(0, 12)] * 30
    runs[12:20] = [(0, 20)] * 8  # a fat pad behind the sac at a disc level: the bright run goes on
    runs[25] = None
    cut = _without_posterior_spikes(runs, 1.0)
    assert max(r[1] for r in cut if r) <= 12 + 2
    assert cut[25] is None and cut[0] == (0, 12)
    narrowing = [(0, 12)] * 30
    narrowing[12:20] = [(3, 12)] * 8  # a narrowing moves the front wall: untouched
    assert _without_posterior_spikes(narrowing, 1.0) == narrowing


def _image_with_roots(root_layer: int) -> tuple[np.ndarray, np.ndarray]:
    """(image, spine mask) of the constructed spine with an unlabelled sac: CSF, then ``root_layer`` mm of grey roots
    along its posterior wall, then a dark wall (dura and ligamentum flavum) and bright epidural fat behind it."""
    case = _spine()
    image, spine = case.image.copy(), np.isin(case.target, (BODY, DISC))
    image[case.target == CANAL] = 1.0
    behind = slice(CANAL_COLS[1] - root_layer, CANAL_COLS[1])
    image[:, :, behind] = np.where(case.target[:, :, behind] == CANAL, 0.45, image[:, :, behind])
    image[:, :, CANAL_COLS[1] : CANAL_COLS[1] + 2] = 0.05
    image[:, :, CANAL_COLS[1] + 2 : CANAL_COLS[1] + 8] = 0.85
    image[:, :, CANAL_COLS[1] + 8 :] = 0.3  # muscle
    return image + np.random.default_rng(0).normal(0.0, 0.02, image.shape).astype(np.float32), spine


@pytest.mark.parametrize("root_layer", [0, 5])
def test_the_derived_sac_with_roots_keeps_them_and_stops_at_the_dark_wall(root_layer):
    from disccore.training.derive import derive_canal
    from disccore.training.sac_rules import WITH_ROOTS

    image, spine = _image_with_roots(root_layer)
    canal, known = derive_canal(image, spine, (1.0, 1.0, 1.0), WITH_ROOTS)
    for row in (30, 60, 90):  # at a body, the disc and the other body
        cols = np.nonzero(canal[10, row])[0]
        assert (int(cols.min()), int(cols.max()) + 1) == CANAL_COLS
        assert known[10, row].all()


def test_the_default_sac_label_is_the_first_bright_run_and_leaves_the_roots_out():
    from disccore.training.derive import derive_canal
    from disccore.training.sac_rules import DEFAULT_SAC_LABEL

    assert DEFAULT_SAC_LABEL == "bright-run"  # the shipped 3.0.0 learned it; changing it is a canal retraining
    root_layer = 5
    image, spine = _image_with_roots(root_layer)
    canal, known = derive_canal(image, spine, (1.0, 1.0, 1.0))
    for row in (30, 60, 90):
        cols = np.nonzero(canal[10, row])[0]
        assert (int(cols.min()), int(cols.max()) + 1) == (CANAL_COLS[0], CANAL_COLS[1] - root_layer)
        assert known[10, row].all()
