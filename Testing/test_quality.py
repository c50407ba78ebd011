"""The quality report: each signal on constructed arrays raises its flag, a clean case raises none, and the flags reach
the CSVs' qc column, the JSON, the summary's needs_review and the report picture."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from test_segment_pipeline import _curved_column_probabilities, _stack_probabilities

from disccore import anatomy
from disccore.image import Geometry
from disccore.measure import MeasurementResult, measure_segmentation, write_disc_csv, write_vertebra_csv
from disccore.measure.qc import geometric_checks
from disccore.quality import THRESHOLDS
from disccore.quality import flags as qf
from disccore.quality.review import review_line, review_reasons
from disccore.segment.canonical import reorientation_for
from disccore.segment.classes import BODY, L5_BODY
from disccore.segment.column import OFF_COLUMN, SMALL_PIECE
from disccore.segment.levels import LevelReport, name_levels
from disccore.segment.naming import SACRUM, l5_sized_without_disc_below, lumbar_like_below_l5
from disccore.segment.quality import assess_segmentation, coronal_tilts, expected_dice, section_agreement

FIVE = ("L1", "L2", "L3", "L4", "L5")


@pytest.fixture(scope="module")
def straight():
    """Five confident bodies (L5 recognised), their discs (L5-S1 included) and the canal: a clean case."""
    probs, geom = _stack_probabilities(n_bodies=5, l5_index=4)
    labels, rep = name_levels(probs, geom)
    return probs, labels.array, geom, rep


def _label(name):
    return anatomy.by_name(name).label


def _assess(straight, probs=None, labels=None, rep=None):
    p, lab, geom, r = straight
    return assess_segmentation(p if probs is None else probs, lab if labels is None else labels, geom, rep or r)


def test_a_straight_confident_spine_raises_no_flag(straight):
    q = _assess(straight)
    assert set(FIVE) <= set(q.structures) and "L5-S1" in q.structures and "canal" in q.structures
    assert q.flags == [] and q.level_flags() == {}
    assert q.lumbar_bodies == 5 and q.anchored_on_l5 and q.lateral_drift_mm == pytest.approx(0.0, abs=1e-6)
    for name in FIVE:
        s = q.structures[name]
        assert s.confidence > 0.9 and s.slice_agreement == pytest.approx(1.0) and s.height_mm > 0
    json.dumps(q.report())  # the report is JSON-ready


def test_a_body_the_network_is_unsure_of_is_flagged(straight):
    probs, labels = straight[0].copy(), straight[1]
    l3 = labels == _label("L3")
    probs[BODY][l3], probs[L5_BODY][l3] = 0.5, 0.0
    q = _assess(straight, probs=probs)
    assert q.structures["L3"].confidence == pytest.approx(0.5)
    assert q.level_flags() == {"L3": ["low confidence 0.50"]}
    assert q.flags == []


def test_sections_that_disagree_are_flagged(straight):
    labels = straight[1].copy()
    geom = straight[2]
    l3 = labels == _label("L3")
    # odd sagittal sections keep the body's upper half, even ones its lower half: neighbours hardly overlap
    lr = int(np.argmax(np.abs(geom.direction[0])))
    z = geom.index_to_lps(np.argwhere(l3))[:, 2]
    upper = z > np.median(z)
    idx = np.argwhere(l3)
    odd = idx[:, lr] % 2 == 1
    drop = idx[(odd & ~upper) | (~odd & upper)]
    labels[tuple(drop.T)] = 0
    q = _assess(straight, labels=labels)
    assert q.structures["L3"].slice_agreement < THRESHOLDS.min_section_agreement("vertebra", geom.spacing[lr])
    assert any(f.startswith(qf.SECTIONS_DISAGREE) for f in q.level_flags()["L3"])


def test_sections_further_apart_may_disagree_more():
    body_1mm = THRESHOLDS.min_section_agreement("vertebra", 1.0)
    assert body_1mm == pytest.approx(1.0 - THRESHOLDS.max_body_section_disagreement)
    body_4mm = THRESHOLDS.min_section_agreement("vertebra", 4.0)
    assert body_4mm < body_1mm
    assert body_4mm < 0.91  # well-segmented bodies on real images resliced to 4 mm: 0.91-0.95
    assert THRESHOLDS.min_section_agreement("vertebra", 0.5) == body_1mm  # never stricter than calibrated
    disc_1mm = THRESHOLDS.min_section_agreement("disc", 1.0)
    assert disc_1mm == pytest.approx(1.0 - THRESHOLDS.max_disc_section_disagreement)
    assert THRESHOLDS.min_section_agreement("canal", 4.0) == THRESHOLDS.min_canal_slice_agreement


def test_section_agreement_ignores_sections_where_the_structure_is_absent():
    mask = np.zeros((6, 4, 4), bool)
    mask[1:4, :2, :2] = True  # three identical sections, empty ones on both sides
    assert section_agreement(mask, 0) == pytest.approx(1.0)
    mask[3, :2, :2], mask[3, 2:, 2:] = False, True  # the third section moved: Dice 0 with the second
    assert section_agreement(mask, 0) == pytest.approx(0.5)
    assert section_agreement(mask[:2], 0) is None  # a single section


def test_expected_dice_falls_where_the_probability_spreads_past_the_outline():
    labels = np.zeros((12, 12, 12), np.uint8)
    labels[4:8, 4:8, 4:8] = 1
    labels[4:8, 8:10, 4:8] = 2  # a neighbour holding the same class: its voxels do not count
    sure = (labels > 0).astype(np.float32)
    assert expected_dice(labels, 1, sure) == pytest.approx(1.0)
    spread = sure.copy()
    spread[3, 4:8, 4:8] = 1.0  # 16 background voxels the network calls the class too: 2 x 64 / (64 + 80)
    assert expected_dice(labels, 1, spread) == pytest.approx(128 / 144)
    unsure = sure * 0.5  # half sure inside: 2 x 32 / (64 + 32)
    assert expected_dice(labels, 1, unsure) == pytest.approx(64 / 96)


def test_every_structure_reports_its_expected_dice(straight):
    q = _assess(straight)
    assert all(0.5 < s.expected_dice <= 1.0 for s in q.structures.values())


@pytest.mark.parametrize(
    "drift, curve, oblique",
    [
        ((0, 0, 0, 0, 0), False, 0),  # straight
        ((0, 4, 8, 12, 16), False, 0),  # leaning 7 degrees, 16 mm in all
        ((0, 12, 24, 36, 48), True, 10),  # leaning 21 degrees, 48 mm in all: every level seen obliquely, a wide drift
        ((0, 20, 32, 36, 32), True, 5),  # a C curve of about 48 degrees: L1 to L3 and their discs lean, L4 to S1 hardly
    ],
)
def test_a_lateral_curve_is_flagged_on_the_case_and_a_leaning_level_on_itself(drift, curve, oblique):
    probs, geom = _curved_column_probabilities(drift)
    labels, rep = name_levels(probs, geom)
    q = assess_segmentation(probs, labels.array, geom, rep)
    assert q.lateral_drift_mm == pytest.approx(max(drift), abs=8.0)  # 4 mm sections, bridges between the bodies
    assert any(f.startswith("lateral curve") for f in q.flags) == curve, q.flags
    leaning = [n for n, flags in q.level_flags().items() if any(f.startswith("seen obliquely") for f in flags)]
    assert len(leaning) == oblique, q.level_flags()


def test_coronal_tilt_follows_the_centre_line_through_the_bodies():
    # bodies 30 mm apart drifting 0, 10, 20, 20 mm left going down: the line tilts 18.4 degrees above, none below
    z = {"L2": 90.0, "L3": 60.0, "L4": 30.0, "L5": 0.0}
    x = {"L2": 0.0, "L3": 10.0, "L4": 20.0, "L5": 20.0}
    positions = {n: (x[n], z[n]) for n in z} | {"L4-L5": (20.0, 15.0)}
    tilts = coronal_tilts(positions, list(z))
    steep = np.degrees(np.arctan(10 / 30))
    assert tilts["L2"] == pytest.approx(-steep) and tilts["L3"] == pytest.approx(-steep)
    assert tilts["L4"] == pytest.approx(-np.degrees(np.arctan(5 / 30)))  # between the slope above and the one below
    assert tilts["L5"] == pytest.approx(0.0)
    assert tilts["L4-L5"] == pytest.approx(-np.degrees(np.arctan(5 / 60)))  # half the slope at L4
    assert coronal_tilts(positions, ["L5"]) == {}


@pytest.mark.parametrize(
    "drift, tilt, cobb",
    [
        ((0, 0, 0, 0, 0), (0, 2), (0, 2)),  # straight
        ((0, 12, 24, 36, 48), (18, 27), (0, 6)),  # leaning 21 degrees (12 mm per 32 mm), not curved
        ((0, 20, 32, 36, 32), (0, 40), (35, 55)),  # a C curve: the end bodies lean 32 and -7 degrees
    ],
)
def test_coronal_tilts_and_the_centre_line_cobb_angle(drift, tilt, cobb):
    # the bodies' own masks carry the bridges between them, so the angles are those of the drawn centres only roughly
    probs, geom = _curved_column_probabilities(drift)
    labels, rep = name_levels(probs, geom)
    q = assess_segmentation(probs, labels.array, geom, rep)
    tilts = [abs(s.coronal_tilt_deg) for s in q.structures.values() if s.coronal_tilt_deg is not None]
    assert len(tilts) == 10 and tilt[0] <= min(tilts) and max(tilts) <= tilt[1]
    assert cobb[0] <= q.centre_line_cobb_deg <= cobb[1]


@pytest.mark.parametrize("rows_kept", [None, 36])
def test_an_image_that_may_end_inside_l5_is_flagged(rows_kept):
    # five bodies, L5 (rows 33-38) the lowest; the image cut at row 36 keeps L5's upper half only, which the naming
    # takes for the top of S1 (small, at the bottom of the column): it reaches the lower edge of the image
    probs, geom = _stack_probabilities(n_bodies=5, l5_index=4, pieces=[(slice(33, 34), slice(5, 20), "l5")])
    reo = reorientation_for(geom.direction)
    canonical = np.stack([reo.to_canonical(p) for p in probs])[:, :, :rows_kept]  # rows grow towards the feet
    probs = np.ascontiguousarray(reo.from_canonical(canonical, leading=1))
    geom = Geometry(probs.shape[1:], spacing=geom.spacing, direction=geom.direction)
    labels, rep = name_levels(probs, geom)
    q = assess_segmentation(probs, labels.array, geom, rep)
    assert (SACRUM in rep.dropped) == (qf.SACRUM_AT_LOWER_EDGE in q.flags) == (rows_kept is not None), q.flags


def test_l5_not_recognised_is_flagged_and_on_every_row(straight):
    q = _assess(straight, rep=LevelReport(anchored_on_l5=False))
    assert q.flags == [qf.L5_NOT_RECOGNISED]
    result = MeasurementResult(discs=[{"level": "L4-L5"}], vertebrae=[{"level": "L4"}])
    result.add_segmentation_quality(q)
    assert [r["qc"] for r in result.discs + result.vertebrae] == [qf.L5_NOT_RECOGNISED] * 2
    assert review_reasons(result.to_dict()) == [qf.L5_NOT_RECOGNISED]


def test_a_body_as_tall_as_two_is_flagged_as_possibly_merged(straight):
    labels = straight[1].copy()
    labels[np.isin(labels, [_label("L3-L4"), _label("L4")])] = _label("L3")
    q = _assess(straight, labels=labels)
    assert q.structures["L3"].flags and q.structures["L3"].flags[0].startswith(qf.POSSIBLY_MERGED)
    assert [n for n, s in q.structures.items() if s.flags] == ["L3"]


def test_transitional_anatomy_hints(straight):
    labels = straight[1].copy()
    labels[labels == _label("L5-S1")] = 0
    assert qf.NO_L5_S1_DISC in _assess(straight, labels=labels).flags
    q = _assess(straight, rep=LevelReport(lumbar_like_below_l5=1))
    assert q.flags == [qf.LUMBAR_LIKE_BELOW_L5]
    labels = straight[1].copy()
    labels[labels == _label("L1")] = 0
    assert _assess(straight, labels=labels).flags == [qf.few_lumbar_bodies(4, 5)]


def test_pieces_set_aside_are_flagged_only_when_they_may_shift_the_names(straight):
    usual = [SACRUM, SMALL_PIECE, "a disc not between two named vertebrae"]
    assert _assess(straight, rep=LevelReport(dropped=usual)).flags == []
    q = _assess(straight, rep=LevelReport(dropped=usual + [OFF_COLUMN, OFF_COLUMN]))
    assert q.flags == [qf.set_aside(f"{OFF_COLUMN} (2)")]  # a body taken off the column would shift the names
    assert q.set_aside == usual + [OFF_COLUMN, OFF_COLUMN]  # the raw signal keeps them all


def test_a_lumbar_like_body_below_l5_is_counted_a_sacral_one_not():
    def body(z, voxels=1000):
        return SimpleNamespace(z=z, voxels=voxels)

    l5 = body(40.0)
    bodies = [body(70.0), l5, body(10.0)]  # superior -> inferior
    assert lumbar_like_below_l5(bodies, {"L5": l5}, disc_z=[55.0, 25.0, -5.0]) == 1  # discs above and below it
    assert lumbar_like_below_l5(bodies, {"L5": l5}, disc_z=[55.0, 25.0]) == 0  # no disc below: the sacrum
    assert lumbar_like_below_l5([body(70.0), l5, body(10.0, 400)], {"L5": l5}, disc_z=[55.0, 25.0, -5.0]) == 0
    probs, geom = _stack_probabilities(n_bodies=6, l5_index=4)  # a sixth body below L5, with a disc below it too
    assert name_levels(probs, geom)[1].lumbar_like_below_l5 == 1


def test_an_l5_sized_body_below_l5_without_a_disc_below_is_a_sacralisation_hint(straight):
    def body(z, voxels=1000):
        return SimpleNamespace(z=z, voxels=voxels)

    l5 = body(40.0)
    bodies = [body(70.0), l5, body(10.0)]  # superior -> inferior
    assert l5_sized_without_disc_below(bodies, {"L5": l5}, disc_z=[55.0, 25.0]) == 1  # fused to what lies below
    assert l5_sized_without_disc_below(bodies, {"L5": l5}, disc_z=[55.0, 25.0, -5.0]) == 0  # lumbar-like instead
    assert l5_sized_without_disc_below([body(70.0), l5, body(10.0, 400)], {"L5": l5}, disc_z=[55.0, 25.0]) == 0
    assert l5_sized_without_disc_below(bodies, {"L5": l5}, disc_z=[55.0]) == 0  # no disc above it: not on the column
    assert _assess(straight, rep=LevelReport(l5_sized_without_disc_below=1)).flags == [qf.L5_SIZED_WITHOUT_DISC_BELOW]


@pytest.mark.parametrize("seed, contrast", [(302, "T1"), (305, "T2")])
def test_a_sacralised_l5_is_named_right_or_flagged(seed, contrast):
    """L5 fused to the sacrum (a 0.7-0.8 mm L5-S1 gap): the model took it for the sacrum and named every body one
    level off on both phantoms (before the hint existed, silently); the case must say so."""
    from disccore.phantom import make_lumbar_phantom
    from disccore.segment import segment_image_with_quality

    wedges = {"T12-L1": 2.0, "L1-L2": 4.0, "L2-L3": 6.0, "L3-L4": 8.0, "L4-L5": 10.0, "L5-S1": 0.0}
    ph = make_lumbar_phantom(
        seed=seed,
        contrast=contrast,
        spacing=(0.8, 0.8, 4.0),
        levels=("T12", "L1", "L2", "L3", "L4", "L5", "S1"),
        disc_heights={"L5-S1": 0.8 if contrast == "T1" else 0.7},
        disc_wedges_deg=wedges,
        fov=(240.0, 240.0, 60.0),
    )
    labels, quality = segment_image_with_quality(ph.image, backend="torch")
    l5, true_l5 = labels.array == _label("L5"), ph.labels.array == _label("L5")
    named_right = 2 * (l5 & true_l5).sum() / (l5.sum() + true_l5.sum()) > 0.5
    assert named_right or qf.L5_SIZED_WITHOUT_DISC_BELOW in quality.flags, quality.flags


def test_thresholds_are_the_ones_used(straight):
    probs, labels = straight[0].copy(), straight[1]
    l3 = labels == _label("L3")
    probs[BODY][l3], probs[L5_BODY][l3] = 0.8, 0.0
    p, lab, geom, rep = straight
    assert assess_segmentation(probs, lab, geom, rep).level_flags() == {}
    strict = replace(THRESHOLDS, min_confidence=0.85)
    assert assess_segmentation(probs, lab, geom, rep, strict).level_flags() == {"L3": ["low confidence 0.80"]}


# --- the measurement's own checks (no probabilities: disccore measure on any segmentation) ----------------------


def _rows_result(body_heights, disc_heights):
    vertebrae = [{"level": n, "vertebra_height_middle_mm": h} for n, h in body_heights.items()]
    discs = [{"level": n, "disc_height_mm": h} for n, h in disc_heights.items()]
    return MeasurementResult(discs=discs, vertebrae=vertebrae)


def test_geometric_checks_flag_tall_and_short_bodies_odd_discs_and_missing_ones():
    bodies = {"L1": 25.0, "L2": 26.0, "L3": 50.0, "L4": 26.0, "L5": 12.0}
    discs = {"L1-L2": 9.0, "L3-L4": 0.8, "L4-L5": 25.0}
    levels, case = geometric_checks(_rows_result(bodies, discs))
    assert levels["L3"][0].startswith(qf.POSSIBLY_MERGED)
    assert levels["L5"][0].startswith(qf.SHORT_BODY + " (height 12 mm")
    assert levels["L3-L4"] == [qf.implausible_disc_height(0.8)] and levels["L4-L5"] == [qf.implausible_disc_height(25)]
    assert set(levels) == {"L3", "L5", "L3-L4", "L4-L5"}
    assert case == [qf.missing_disc("L2-L3", "L2", "L3")]  # L5-S1: no S1 segmented, nothing missing
    clean = _rows_result({n: 25.0 for n in FIVE}, {"L1-L2": 9.0, "L2-L3": 9.0, "L3-L4": 10.0, "L4-L5": 11.0})
    assert geometric_checks(clean) == ({}, [])


@pytest.fixture(scope="module")
def phantom():
    from disccore.phantom import make_lumbar_phantom

    return make_lumbar_phantom(seed=3)


def test_measure_alone_writes_the_geometric_flags_into_both_csvs(phantom, tmp_path):
    names = anatomy.default_label_names()
    clean = measure_segmentation(phantom.labels, names)
    assert all(r["qc"] == "" for r in clean.discs + clean.vertebrae)
    arr = phantom.labels.array.copy()
    arr[arr == _label("L2-L3")] = 0  # a disc missing between two named bodies (as after an edit in Slicer)
    result = measure_segmentation(replace(phantom.labels, array=arr), names)
    flag = qf.missing_disc("L2-L3", "L2", "L3")
    write_disc_csv(result, tmp_path / "d.csv")
    write_vertebra_csv(result, tmp_path / "v.csv")
    for path in ("d.csv", "v.csv"):
        rows = list(csv.DictReader((tmp_path / path).open()))
        assert rows and all(r["qc"] == flag for r in rows), rows
    assert result.to_dict()["qc"] == {"case": [flag], "levels": {}, "segmentation": None}


def test_segmentation_flags_are_merged_with_the_geometric_ones(phantom, straight):
    result = measure_segmentation(phantom.labels, anatomy.default_label_names())
    result.add_flags({"L4": ["possibly merged bodies (height 50 mm, the others 25 mm)"]}, [])
    q = _assess(straight, rep=LevelReport(anchored_on_l5=False))
    q.structures["L4"].flags.append("low confidence 0.60")
    q.structures["L4"].flags.append("possibly merged bodies (height 48 mm, the others 20 mm)")  # said once only
    result.add_segmentation_quality(q)
    l4 = result.vertebra("L4")["qc"]
    assert l4 == "possibly merged bodies (height 50 mm, the others 25 mm); low confidence 0.60; " + qf.L5_NOT_RECOGNISED
    assert result.disc("L4-L5")["qc"] == qf.L5_NOT_RECOGNISED
    assert result.to_dict()["qc"]["segmentation"]["structures"]["L4"]["confidence"] > 0.9


def test_a_stenosis_graded_on_the_model_outline_is_for_review(straight):
    """The network's sac can leave out the nerve roots (a healthy sac graded) or take in fat (a narrowing missed):
    a level it grades stenotic is flagged for a reader; a level it does not grade, and a hand-made outline measured
    without the network's report, are not."""
    result = MeasurementResult(
        discs=[{"level": "L3-L4", "stenosis": "absolute"}, {"level": "L4-L5", "stenosis": ""}],
        vertebrae=[{"level": "L4"}],
    )
    result.add_flags({}, [])
    assert [r["qc"] for r in result.discs] == ["", ""]
    result.add_segmentation_quality(_assess(straight))
    assert [r["qc"] for r in result.discs] == [qf.STENOSIS_ON_MODEL_OUTLINE, ""]
    assert review_reasons(result.to_dict()) == [f"L3-L4: {qf.STENOSIS_ON_MODEL_OUTLINE}"]


def test_review_reasons_and_line():
    assert review_reasons({}) == [] and review_reasons({"qc": {"case": [], "levels": {}}}) == []
    reasons = review_reasons({"qc": {"case": ["a"], "levels": {"L4": ["b", "c"]}}})
    assert reasons == ["a", "L4: b", "L4: c"]
    assert review_line("case1", reasons, max_reasons=2) == "case1 needs review: a; L4: b (+1 more)"
