"""Stenosis grading from the cut-offs published for the dural sac: each criterion fires alone at its cut-off,
the bony canal's 12 mm is not applied, and the definitions text states the values it is built from."""

from __future__ import annotations

import pytest
from phantoms_analytic import DiscSpec, StackSpec, build_stack, make_geometry

from disccore.measure import DEFINITIONS, DISC_COLUMNS, measure_segmentation
from disccore.measure.stenosis import grade_stenosis

WIDE = 200.0  # an area no criterion reaches (mm2)
ROOMY = 15.0  # an AP diameter no criterion reaches (mm)


@pytest.mark.parametrize(
    "ap,area,grade,criterion",
    [
        (9.99, WIDE, "absolute", "AP < 10 mm"),  # AP alone, just below
        (10.0, WIDE, "", ""),  # ... at the cut-off
        (10.01, WIDE, "", ""),
        (11.0, WIDE, "", ""),  # the bony canal's 12 mm rule would call this relative
        (ROOMY, 74.99, "absolute", "area < 75 mm2"),  # area, absolute cut-off alone
        (ROOMY, 75.0, "relative", "area < 100 mm2"),
        (ROOMY, 99.99, "relative", "area < 100 mm2"),  # area, relative cut-off alone
        (ROOMY, 100.0, "", ""),
        (ROOMY, 100.01, "", ""),
        (9.0, 70.0, "absolute", "AP < 10 mm; area < 75 mm2"),  # both name what fired
        (9.0, 90.0, "absolute", "AP < 10 mm; area < 100 mm2"),
    ],
)
def test_each_criterion_at_its_cut_off(ap, area, grade, criterion):
    assert grade_stenosis(ap, area) == (grade, criterion)


def test_grading_with_one_value_missing():
    assert grade_stenosis(None, None) == (None, None)
    assert grade_stenosis(9.0, None) == ("absolute", "AP < 10 mm")
    assert grade_stenosis(None, 80.0) == ("relative", "area < 100 mm2")
    assert grade_stenosis(None, WIDE) == ("", "")


def test_definitions_state_the_cut_offs_and_references():
    text = DEFINITIONS["stenosis"]
    for part in ("AP < 10 mm", "area < 75 mm2", "area < 100 mm2", "Bolender 1985", "Hamanishi 1994", "dural sac"):
        assert part in text
    assert "12 mm AP cut-off belongs to the bony canal" in text
    refs = DEFINITIONS["stenosis_references"]
    assert "BMC Musculoskelet Disord" in refs and "Schonstrom" in refs
    assert "stenosis_criterion" in DISC_COLUMNS and "stenosis_criterion" in DEFINITIONS


def _row(canal_ap, canal_lr):
    spec = StackSpec(discs=[DiscSpec(10.0, 0.05)], tilt_deg=12.0, canal_ap=canal_ap, canal_lr=canal_lr)
    geom = make_geometry((1.0, 1.0, 1.0), "LPS", oblique_deg=3.0, extent_mm=105.0)
    labels, names, truth = build_stack(spec, geom)
    return measure_segmentation(labels, names).discs[0], truth["discs"]["L4-L5"]


@pytest.mark.parametrize(
    "canal_ap,canal_lr,grade,criterion",
    [
        (11.0, 20.0, "", ""),  # 11 mm AP, 173 mm2: no sac criterion (the old 12 mm rule flagged it)
        (12.0, 10.0, "relative", "area < 100 mm2"),  # AP fine, 94 mm2: the area alone flags it
        (12.0, 7.0, "absolute", "area < 75 mm2"),  # 66 mm2
        (9.0, 20.0, "absolute", "AP < 10 mm"),  # 141 mm2: the AP alone
    ],
)
def test_measured_levels_are_graded_by_the_criterion_that_fires(canal_ap, canal_lr, grade, criterion):
    row, truth = _row(canal_ap, canal_lr)
    assert row["canal_area_mm2"] == pytest.approx(truth["canal_area_mm2"], rel=0.05)
    assert (row["stenosis"], row["stenosis_criterion"]) == (grade, criterion)
