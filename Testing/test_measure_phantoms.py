"""Accuracy of disccore.measure on analytic phantoms whose truth is known by construction.

Wedge-shaped discs between elliptic vertebral bodies, tilted 0-35 degrees in the sagittal plane, an
elliptic canal tilted with the spine; voxels 0.5x0.5x4, 0.43x0.43x4.4 and 1 mm isotropic; grids stored
LPS-, RAS- or scanner-(native-)ordered with oblique direction matrices and varied sub-voxel phases.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from phantoms_analytic import DiscSpec, StackSpec, build_stack, frame_vectors, make_geometry

from disccore.image import lps_to_ras
from disccore.measure import measure_segmentation

SPACINGS = {"0.5x0.5x4": (4.0, 0.5, 0.5), "0.43x0.43x4.4": (4.4, 0.43, 0.43), "1iso": (1.0, 1.0, 1.0)}
ORDERS = ("LPS", "RAS", "native")
TILTS = (0.0, 17.0, 35.0)

CASES = list(itertools.product(SPACINGS, ORDERS, TILTS))


def _phantom(spacing_key, order, tilt, *, h_mid=10.0, slope=0.1, canal_ap=15.0, seed=0, oblique=6.0):
    rng = np.random.default_rng(seed)
    spec = StackSpec(discs=[DiscSpec(h_mid, slope)], tilt_deg=tilt, canal_ap=canal_ap)
    geom = make_geometry(
        SPACINGS[spacing_key], order, oblique_deg=oblique, extent_mm=105.0, phase=tuple(rng.uniform(0, 1, 3))
    )
    return spec, build_stack(spec, geom)


@pytest.mark.parametrize("spacing_key,order,tilt", CASES, ids=[f"{s}-{o}-{t:g}deg" for s, o, t in CASES])
def test_disc_and_canal_accuracy(spacing_key, order, tilt):
    seed = CASES.index((spacing_key, order, tilt))
    slope = 0.1 if seed % 2 == 0 else -0.06  # anterior taller (lordotic) or posterior taller
    spec, (labels, names, truth) = _phantom(spacing_key, order, tilt, slope=slope, seed=seed)
    result = measure_segmentation(labels, names)
    assert [r["level"] for r in result.discs] == ["L4-L5"]
    row = result.discs[0]
    t = truth["discs"]["L4-L5"]
    assert row["disc_height_mm"] == pytest.approx(t["disc_height_mm"], abs=0.2)
    assert row["disc_height_median_mm"] == pytest.approx(t["disc_height_median_mm"], abs=0.3)
    for key in ("disc_height_anterior_mm", "disc_height_middle_mm", "disc_height_posterior_mm"):
        assert row[key] == pytest.approx(t[key], abs=0.4), key
    assert row["disc_volume_mm3"] == pytest.approx(t["disc_volume_mm3"], rel=0.01)
    assert row["canal_ap_diameter_mm"] == pytest.approx(t["canal_ap_diameter_mm"], abs=0.5)
    assert row["canal_area_mm2"] == pytest.approx(t["canal_area_mm2"], rel=0.03)
    assert row["stenosis"] == ""
    assert row["notes"] == ""
    # disc height index: vertebral bodies are 25 mm at their centre
    assert row["disc_height_index"] == pytest.approx(t["disc_height_mm"] / spec.vertebra_height, abs=0.01)
    expected_voxel = "x".join(f"{s:.2f}" for s in labels.geometry.spacing)
    assert row["voxel_size_mm"] == expected_voxel


@pytest.mark.parametrize("spacing_key,order,tilt", [("0.43x0.43x4.4", "native", 35.0), ("1iso", "RAS", 17.0)])
def test_lines_are_ras_and_match_values(spacing_key, order, tilt):
    spec, (labels, names, truth) = _phantom(spacing_key, order, tilt)
    result = measure_segmentation(labels, names)
    ea, el, et = frame_vectors(tilt)
    lines = {(ln.level, ln.measurement): ln for ln in result.lines}
    for m in (
        "disc_height_mm",
        "disc_height_anterior_mm",
        "disc_height_middle_mm",
        "disc_height_posterior_mm",
        "canal_ap_diameter_mm",
    ):
        assert ("L4-L5", m) in lines, m
    row = result.discs[0]
    for key in (
        "disc_height_mm",
        "disc_height_anterior_mm",
        "disc_height_middle_mm",
        "disc_height_posterior_mm",
        "canal_ap_diameter_mm",
    ):
        ln = lines[("L4-L5", key)]
        start, end = np.array(ln.start_ras), np.array(ln.end_ras)
        assert np.linalg.norm(end - start) == pytest.approx(row[key], abs=1e-6)
        assert ln.value_mm == pytest.approx(row[key])
        d = lps_to_ras(end - start) / np.linalg.norm(end - start)  # direction back in LPS
        along = et if key.startswith("disc") else ea
        assert abs(float(d @ along)) > 0.999, key
    # the anterior line lies anterior to the posterior one, 80 % of the AP extent (40 mm) apart, in LPS
    mid = {
        k: lps_to_ras((np.array(lines[("L4-L5", k)].start_ras) + lines[("L4-L5", k)].end_ras) / 2)
        for k in ("disc_height_anterior_mm", "disc_height_posterior_mm")
    }
    assert float((mid["disc_height_anterior_mm"] - mid["disc_height_posterior_mm"]) @ ea) == pytest.approx(
        32.0, abs=1.0
    )
    # the middle line is centred on the disc centre (phantom centre at LPS origin)
    mline = lines[("L4-L5", "disc_height_middle_mm")]
    centre = lps_to_ras((np.array(mline.start_ras) + mline.end_ras) / 2)
    assert np.linalg.norm(centre) < 0.6
    # the canal line spans the ellipse along AP behind the disc
    cl = lines[("L4-L5", "canal_ap_diameter_mm")]
    ends = sorted(float(lps_to_ras(np.array(p)) @ ea) for p in (cl.start_ras, cl.end_ras))
    assert ends[0] == pytest.approx(-(20 + 3 + 15), abs=0.3)
    assert ends[1] == pytest.approx(-(20 + 3), abs=0.3)


CANAL_CASES = [
    (ap, tilt) for ap, tilt in zip((8.0, 9.5, 11.0, 12.5, 15.0, 17.5, 20.0), (5.0, 35.0, 22.0, 12.0, 30.0, 0.0, 28.0))
]


@pytest.mark.parametrize("ap,tilt", CANAL_CASES, ids=[f"AP{a:g}-{t:g}deg" for a, t in CANAL_CASES])
@pytest.mark.parametrize("spacing_key", ["0.43x0.43x4.4", "1iso"])
def test_canal_ap_and_area(ap, tilt, spacing_key):
    seed = int(ap * 10 + tilt)
    spec, (labels, names, truth) = _phantom(
        spacing_key, "native" if seed % 2 else "LPS", tilt, canal_ap=ap, seed=seed, oblique=seed % 9
    )
    row = measure_segmentation(labels, names).discs[0]
    t = truth["discs"]["L4-L5"]
    assert row["canal_ap_diameter_mm"] == pytest.approx(ap, abs=0.5)
    assert row["canal_area_mm2"] == pytest.approx(t["canal_area_mm2"], rel=0.03)
    # the dural sac's published cut-offs (AP < 10 mm absolute; area < 75 mm2 absolute, < 100 mm2 relative)
    area = t["canal_area_mm2"]
    expected = "absolute" if ap < 10 or area < 75 else "relative" if area < 100 else ""
    assert row["stenosis"] == expected


@pytest.mark.parametrize("tilt", [0.0, 35.0])
def test_same_phantom_iso_vs_thick_slices(tilt):
    spec = StackSpec(discs=[DiscSpec(11.0, 0.08)], tilt_deg=tilt)
    rows = []
    for key, order in (("1iso", "LPS"), ("0.43x0.43x4.4", "native")):
        geom = make_geometry(SPACINGS[key], order, oblique_deg=4.0, extent_mm=105.0, phase=(0.37, 0.11, 0.73))
        labels, names, _ = build_stack(spec, geom)
        rows.append(measure_segmentation(labels, names).discs[0])
    for key in (
        "disc_height_mm",
        "disc_height_median_mm",
        "disc_height_anterior_mm",
        "disc_height_middle_mm",
        "disc_height_posterior_mm",
    ):
        assert rows[0][key] == pytest.approx(rows[1][key], abs=0.3), key


def test_five_level_stack_orders_cranial_to_caudal():
    discs = [DiscSpec(8.0 + k, 0.05 * k) for k in range(5)]
    spec = StackSpec(discs=discs, tilt_deg=12.0, first_vertebra="L1", vertebra_height=24.0)
    geom = make_geometry((4.0, 0.5, 0.5), "LPS", oblique_deg=3.0, extent_mm=230.0, phase=(0.2, 0.4, 0.6))
    labels, names, truth = build_stack(spec, geom)
    result = measure_segmentation(labels, names)
    assert [r["level"] for r in result.discs] == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    assert [r["level"] for r in result.vertebrae] == ["L1", "L2", "L3", "L4", "L5", "S1"]
    for row in result.discs:
        t = truth["discs"][row["level"]]
        assert row["disc_height_mm"] == pytest.approx(t["disc_height_mm"], abs=0.2)
        assert row["disc_height_anterior_mm"] == pytest.approx(t["disc_height_anterior_mm"], abs=0.4)
        assert row["disc_height_posterior_mm"] == pytest.approx(t["disc_height_posterior_mm"], abs=0.4)
        assert row["disc_volume_mm3"] == pytest.approx(t["disc_volume_mm3"], rel=0.01)
        assert row["disc_height_index"] is not None
    for row in result.vertebrae:
        assert row["vertebra_volume_mm3"] == pytest.approx(
            truth["vertebrae"][row["level"]]["vertebra_volume_mm3"], rel=0.01
        )
        assert row["vertebra_height_middle_mm"] == pytest.approx(24.0, abs=0.5)
