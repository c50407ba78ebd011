"""The synthetic phantoms: their ground truth must match their labels and their continuous shapes.

Heights, canal diameters and areas are re-measured here independently of the closed forms in
disccore.phantom: by ray casting the continuous anatomy (Phantom.label_at, the same rule that labels
voxel centres) at 0.01 mm steps, and by fine-grid sampling of footprints and cross-sections.
"""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
from scipy import ndimage

from disccore import anatomy
from disccore.image import Geometry
from disccore.phantom import make_disc_phantom, make_lumbar_phantom

SAGITTAL = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def _rot(axis, deg):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = math.radians(deg)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(a) * K + (1 - math.cos(a)) * K @ K


OBLIQUE = _rot([0.3, 1.0, 0.4], 23.0) @ SAGITTAL


@pytest.fixture(scope="module")
def lumbar_t2():
    return make_lumbar_phantom(seed=1)


@pytest.fixture(scope="module")
def lumbar_t1():
    return make_lumbar_phantom(seed=1, contrast="T1")


@pytest.fixture(scope="module")
def tilted_disc():
    return make_disc_phantom(
        height_anterior_mm=13.0,
        height_posterior_mm=7.0,
        tilt_deg=20.0,
        spacing=(0.6, 0.6, 3.0),
        direction=OBLIQUE,
        canal_ap_mm=11.0,
        canal_width_mm=19.0,
        fov=(120, 120, 90),
    )


def _extent(ph, p0, direction, value, half=20.0, step=0.01):
    """Length of the run of `value` along p0 + s*direction (|s| <= half), by ray casting."""
    s = np.arange(-half, half + step / 2, step)
    pts = np.asarray(p0)[None, :] + s[:, None] * np.asarray(direction)[None, :]
    hit = np.nonzero(ph.label_at(pts) == value)[0]
    if hit.size == 0:
        return 0.0
    assert np.all(np.diff(hit) == 1), "the structure is not convex along the ray"
    return (hit[-1] - hit[0] + 1) * step


def _label_centroid_lps(labels, value):
    idx = np.argwhere(labels.array == value)
    return labels.geometry.index_to_lps(idx.mean(0))


def _nearest_label(labels, p_lps):
    ijk = np.rint(labels.geometry.lps_to_index(p_lps)).astype(int)
    return int(labels.array[tuple(ijk)])


# --- structure of the output ---------------------------------------------------------------------
def test_lumbar_phantom_layout(lumbar_t2):
    ph = lumbar_t2
    assert ph.image.array.shape == (512, 512, 15) and ph.image.array.dtype == np.float32
    assert ph.labels.geometry.same_grid(ph.image.geometry)
    assert np.allclose(ph.image.geometry.spacing, [0.5, 0.5, 4.0])
    expected = {"L1", "L2", "L3", "L4", "L5", "S1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1", "canal"}
    assert set(ph.label_names.values()) == expected
    for value, name in ph.label_names.items():
        assert anatomy.by_name(name).label == value
    assert set(np.unique(ph.labels.array)) == {0} | set(ph.label_names)
    assert list(ph.truth["discs"]) == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    json.dumps(ph.truth)  # serialisable
    ph.image.geometry.validate()
    # the mid-sagittal plane x = 0 falls on a slice centre
    assert abs(ph.image.geometry.index_to_lps([0, 0, 7])[0]) < 1e-9


def test_truth_volumes_match_labels(lumbar_t2):
    for level, row in lumbar_t2.truth["discs"].items():
        vox = np.count_nonzero(lumbar_t2.labels.array == row["label"]) * 0.5 * 0.5 * 4.0
        assert row["disc_volume_voxels_mm3"] == pytest.approx(vox)
        assert vox == pytest.approx(row["disc_volume_mm3"], rel=0.05), level
        assert row["disc_volume_mm3"] == pytest.approx(
            math.pi * row["disc_ap_depth_mm"] / 2 * row["disc_width_mm"] / 2 * row["disc_height_mm"]
        )


def test_fine_voxels_converge_to_analytic_volume():
    ph = make_disc_phantom(
        height_anterior_mm=12.0,
        height_posterior_mm=7.0,
        tilt_deg=10.0,
        spacing=(0.5, 0.5, 0.5),
        fov=(40, 40, 50),
        canal_ap_mm=12.0,
        centre_lps=(0, 0, 0),
    )
    row = ph.disc("L4-L5")
    assert row["disc_volume_voxels_mm3"] == pytest.approx(row["disc_volume_mm3"], rel=0.01)


def test_disc_centres_inside_disc_labels(lumbar_t2):
    for level, row in lumbar_t2.truth["discs"].items():
        assert _nearest_label(lumbar_t2.labels, row["disc_centre_lps"]) == row["label"], level
        assert _nearest_label(lumbar_t2.labels, row["disc_centroid_lps"]) == row["label"], level
        assert _nearest_label(lumbar_t2.labels, row["canal_centre_lps"]) == anatomy.canal().label, level
    for name, row in lumbar_t2.truth["vertebrae"].items():
        assert _nearest_label(lumbar_t2.labels, row["centroid_lps"]) == row["label"], name


def test_axis_is_centroid_to_centroid(lumbar_t2):
    """The truth axis is the line between the adjacent bodies' centroids, also when taken from voxels."""
    verts = lumbar_t2.truth["vertebrae"]
    for level, row in lumbar_t2.truth["discs"].items():
        up, lo = verts[row["upper_vertebra"]], verts[row["lower_vertebra"]]
        a = np.subtract(up["centroid_lps"], lo["centroid_lps"])
        assert np.allclose(a / np.linalg.norm(a), row["axis_lps"], atol=1e-6)
        cu = _label_centroid_lps(lumbar_t2.labels, up["label"])
        cl = _label_centroid_lps(lumbar_t2.labels, lo["label"])
        assert np.linalg.norm(cu - up["centroid_lps"]) < 0.3
        v = (cu - cl) / np.linalg.norm(cu - cl)
        assert math.degrees(math.acos(min(1.0, v @ row["axis_lps"]))) < 0.5, level


# --- heights, canal: re-measured on the continuous shape ------------------------------------------
@pytest.mark.parametrize("fixture", ["lumbar_t2", "tilted_disc"])
def test_heights_and_canal_by_ray_casting(fixture, request):
    ph = request.getfixturevalue(fixture)
    for level, row in ph.truth["discs"].items():
        u, a = np.array(row["axis_lps"]), np.array(row["ap_direction_lps"])
        c = np.array(row["disc_centre_lps"])
        half_ap = row["disc_ap_depth_mm"] / 2
        # the AP extent of the disc in the mid-sagittal plane, measured, not taken from the truth
        ap_extent = _extent(ph, c, a, row["label"], half=40.0)
        assert ap_extent == pytest.approx(2 * half_ap, abs=0.02)
        for key, frac in (
            ("disc_height_anterior_mm", 0.8),
            ("disc_height_middle_mm", 0.0),
            ("disc_height_posterior_mm", -0.8),
        ):
            h = _extent(ph, c + frac * (ap_extent / 2) * a, u, row["label"])
            assert h == pytest.approx(row[key], abs=0.05), (level, key)
            start, end = np.array(row["lines_lps"][key])
            assert np.linalg.norm(end - start) == pytest.approx(row[key], abs=1e-6)
        # canal: AP extent along disc centre -> canal centre, through the canal centre
        cc = np.array(row["canal_centre_lps"])
        d = cc - np.array(row["disc_centroid_lps"])
        d /= np.linalg.norm(d)
        assert np.allclose(d, -a, atol=1e-6)
        ap = _extent(ph, cc, d, anatomy.canal().label, half=30.0)
        assert ap == pytest.approx(row["canal_ap_diameter_mm"], abs=0.05), level


def test_mean_height_over_central_footprint(tilted_disc):
    """Mean and median of the per-point height over the central 80 % of the footprint (fine sampling)."""
    ph = tilted_disc
    row = ph.disc("L4-L5")
    u, a, lat = (np.array(row[k]) for k in ("axis_lps", "ap_direction_lps", "lateral_direction_lps"))
    c = np.array(row["disc_centre_lps"])
    tt, ll = np.meshgrid(np.arange(-20.0, 20.01, 1.0), np.arange(-26.0, 26.01, 1.0), indexing="ij")
    base = c + tt[..., None] * a + ll[..., None] * lat
    s = np.arange(-12.0, 12.0, 0.02)
    pts = base[:, :, None, :] + s[None, None, :, None] * u
    inside = ph.label_at(pts) == row["label"]
    heights = inside.sum(-1) * 0.02
    foot = heights > 0
    t_c, l_c = tt[foot].mean(), ll[foot].mean()
    half_t = max(tt[foot].max() - t_c, t_c - tt[foot].min()) + 0.5
    half_l = max(ll[foot].max() - l_c, l_c - ll[foot].min()) + 0.5
    central = foot & (((tt - t_c) / half_t) ** 2 + ((ll - l_c) / half_l) ** 2 <= 0.8**2)
    assert np.mean(heights[central]) == pytest.approx(row["disc_height_mm"], abs=0.05)
    assert np.median(heights[central]) == pytest.approx(row["disc_height_median_mm"], abs=0.05)


@pytest.mark.parametrize("fixture,level", [("tilted_disc", "L4-L5"), ("lumbar_t2", "L5-S1"), ("lumbar_t2", "L2-L3")])
def test_canal_area_by_sampling(fixture, level, request):
    ph = request.getfixturevalue(fixture)
    row = ph.disc(level)
    a, lat = np.array(row["ap_direction_lps"]), np.array(row["lateral_direction_lps"])
    cc = np.array(row["canal_centre_lps"])
    step = 0.1
    tt, ll = np.meshgrid(np.arange(-12, 12, step), np.arange(-14, 14, step), indexing="ij")
    pts = cc + tt[..., None] * a + ll[..., None] * lat
    area = np.count_nonzero(ph.label_at(pts) == anatomy.canal().label) * step * step
    assert area == pytest.approx(row["canal_area_mm2"], rel=0.01)
    assert row["canal_area_mm2"] == pytest.approx(math.pi / 4 * row["canal_ap_diameter_mm"] * row["canal_width_mm"])
    if fixture == "tilted_disc":
        assert row["canal_area_mm2"] == pytest.approx(math.pi / 4 * 11.0 * 19.0)


def test_disc_phantom_truth_follows_its_arguments(tilted_disc):
    row = tilted_disc.disc("L4-L5")
    assert row["disc_height_anterior_mm"] == pytest.approx(13.0)
    assert row["disc_height_posterior_mm"] == pytest.approx(7.0)
    assert row["disc_height_mm"] == pytest.approx(10.0)
    assert row["canal_ap_diameter_mm"] == pytest.approx(11.0)
    assert np.allclose(row["disc_centre_lps"], 0.0, atol=1e-9)
    # axis tilted 20 deg anteriorly from +S (anterior = -y in LPS)
    assert np.allclose(row["axis_lps"], [0, -math.sin(math.radians(20)), math.cos(math.radians(20))], atol=1e-9)
    assert row["disc_height_index"] == pytest.approx(10.0 / 25.0)


# --- intensities ----------------------------------------------------------------------------------
def _mean(ph, value):
    return float(ph.image.array[ph.labels.array == value].mean())


def test_tissue_contrasts(lumbar_t2, lumbar_t1):
    canal = anatomy.canal().label
    assert np.array_equal(lumbar_t2.labels.array, lumbar_t1.labels.array)
    for ph, contrast in ((lumbar_t2, "T2"), (lumbar_t1, "T1")):
        m_canal = _mean(ph, canal)
        m_vert = np.mean([_mean(ph, anatomy.by_name(v).label) for v in ("L1", "L2", "L3", "L4", "L5")])
        m_disc = np.mean([_mean(ph, anatomy.by_name(d).label) for d in ("L1-L2", "L2-L3", "L3-L4")])
        if contrast == "T2":  # CSF bright, discs brighter than marrow in healthy levels
            assert m_canal > 0.7 and m_canal > 1.5 * m_vert and m_disc > 0.35
        else:  # CSF dark, marrow bright, discs dark-intermediate
            assert m_canal < 0.3 and m_vert > 2 * m_canal and m_vert > m_disc
    # nucleus (centre of a healthy disc) is brighter than marrow in T2, darker in T1
    row = lumbar_t2.disc("L2-L3")
    ijk = tuple(np.rint(lumbar_t2.image.geometry.lps_to_index(row["disc_centre_lps"])).astype(int))
    vjk = tuple(
        np.rint(lumbar_t2.image.geometry.lps_to_index(lumbar_t2.truth["vertebrae"]["L3"]["centroid_lps"])).astype(int)
    )
    assert lumbar_t2.image.array[ijk] > lumbar_t2.image.array[vjk]
    assert lumbar_t1.image.array[ijk] < lumbar_t1.image.array[vjk]


# --- determinism and geometry independence --------------------------------------------------------
def test_deterministic_for_a_seed():
    kw = dict(spacing=(1.0, 1.0, 4.0), fov=(200, 220, 60))
    a, b, c = make_lumbar_phantom(seed=5, **kw), make_lumbar_phantom(seed=5, **kw), make_lumbar_phantom(seed=6, **kw)
    assert np.array_equal(a.image.array, b.image.array)
    assert np.array_equal(a.labels.array, b.labels.array)
    assert a.truth == b.truth
    assert not np.array_equal(a.image.array, c.image.array)
    assert np.array_equal(a.labels.array, c.labels.array)  # the seed does not move the anatomy


def test_oblique_anisotropic_grid_same_anatomy_in_lps():
    a = make_lumbar_phantom(spacing=(1.0, 1.0, 4.0), noise=0, bias_field=0)
    b = make_lumbar_phantom(spacing=(1.2, 0.9, 3.0), direction=OBLIQUE, fov=(300, 300, 110), noise=0, bias_field=0)
    assert not np.allclose(b.labels.geometry.direction, a.labels.geometry.direction)
    for name in ("L1", "L2", "L3", "L4", "L5", "S1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"):
        value = anatomy.by_name(name).label
        ca, cb = _label_centroid_lps(a.labels, value), _label_centroid_lps(b.labels, value)
        assert np.linalg.norm(ca - cb) < 1.0, name
        va = np.count_nonzero(a.labels.array == value) * a.labels.geometry.voxel_volume_mm3
        vb = np.count_nonzero(b.labels.array == value) * b.labels.geometry.voxel_volume_mm3
        assert va == pytest.approx(vb, rel=0.06), name
    for level in a.truth["discs"]:  # truth is grid independent apart from voxel counts
        for key in ("disc_height_mm", "disc_volume_mm3", "canal_ap_diameter_mm", "disc_centre_lps", "axis_lps"):
            assert a.truth["discs"][level][key] == b.truth["discs"][level][key]


def test_axial_orientation_and_parameters():
    ph = make_lumbar_phantom(
        spacing=(1.0, 1.0, 4.0),
        orientation="axial",
        fov=(120, 200, 240),
        noise=0,
        disc_heights={"L4-L5": 6.0},
        canal_ap_mm=[15, 14, 12, 9, 13],
        lordosis_deg=30,
    )
    assert np.allclose(ph.labels.geometry.direction, np.eye(3))
    assert ph.disc("L4-L5")["disc_height_mm"] == 6.0
    assert ph.disc("L4-L5")["canal_ap_diameter_mm"] == 9.0
    wedges = [r["disc_wedge_deg"] for r in ph.truth["discs"].values()]
    assert sum(wedges) == pytest.approx(30.0)
    assert _nearest_label(ph.labels, ph.disc("L3-L4")["disc_centre_lps"]) == anatomy.by_name("L3-L4").label


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(levels=("L1", "L3")),
        dict(levels=("L5",)),
        dict(levels=("X1", "X2")),
        dict(disc_heights=2.0, lordosis_deg=80),
        dict(contrast="PD"),
        dict(supersample=2),
        dict(direction=np.ones((3, 3))),
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        make_lumbar_phantom(spacing=(2.0, 2.0, 4.0), **kwargs)


# --- the bundled sample ---------------------------------------------------------------------------
def test_bundled_sample_regenerates_exactly(repo_root):
    import SimpleITK as sitk

    from disccore.image import from_sitk

    folder = repo_root / "Resources" / "Samples"
    spec = importlib.util.spec_from_file_location("make_samples", folder / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    image, labels, names, truth = mod.build()
    stored_img = from_sitk(sitk.ReadImage(str(folder / "synthetic_lumbar_t2.nii.gz")))
    stored_lab = from_sitk(sitk.ReadImage(str(folder / "synthetic_lumbar_t2_labels.nii.gz")))
    assert stored_img.array.dtype == np.int16 and stored_img.array.shape == image.array.shape
    assert np.array_equal(stored_lab.array, labels.array)
    assert np.abs(stored_img.array.astype(int) - image.array.astype(int)).max() <= 1
    assert np.mean(stored_img.array != image.array) < 1e-4
    for g in (stored_img.geometry, stored_lab.geometry):
        assert isinstance(g, Geometry) and g.same_grid(image.geometry, tol=1e-4)
    sidecar = json.loads((folder / "synthetic_lumbar_t2_labels.json").read_text())
    assert sidecar == {str(k): v for k, v in names.items()}
    stored_truth = json.loads((folder / "synthetic_lumbar_t2_truth.json").read_text())
    assert stored_truth["discs"] == json.loads(json.dumps(truth["discs"]))
    assert stored_truth["definitions"] == truth["definitions"]  # the shipped text is the code's
    assert stored_truth["discs"]["L4-L5"]["canal_ap_diameter_mm"] == 9.5
    assert (folder / "synthetic_lumbar_t2.nii.gz").stat().st_size < 3.2e6


def test_a_root_layer_lies_inside_the_sac_along_its_posterior_wall():
    kw = dict(seed=1, spacing=(1.0, 1.0, 4.0), fov=(200, 220, 60), noise=0, bias_field=0)
    plain, with_roots = make_lumbar_phantom(**kw), make_lumbar_phantom(root_layer_mm=3.0, **kw)
    assert np.array_equal(plain.labels.array, with_roots.labels.array)  # the roots are sac: the label is unchanged
    assert plain.truth == with_roots.truth
    canal = plain.labels.array == anatomy.canal().label
    darker = with_roots.image.array < plain.image.array - 0.2
    near_canal = ndimage.binary_dilation(canal, iterations=1)  # partial volume at the sac's edge
    assert darker[canal].mean() > 0.05 and not darker[~near_canal].any()
    row = plain.disc("L2-L3")
    centre = np.asarray(row["canal_centre_lps"], float)
    back = centre - 0.4 * row["canal_ap_diameter_mm"] * np.asarray(row["ap_direction_lps"], float)  # it points forward
    ijk = tuple(np.rint(plain.image.geometry.lps_to_index(back)).astype(int))
    assert with_roots.image.array[ijk] < 0.6 * plain.image.array[ijk]


def test_a_dura_walls_the_sac_outside_its_label():
    kw = dict(seed=1, spacing=(1.0, 1.0, 4.0), fov=(200, 220, 60), noise=0, bias_field=0, canal_ap_mm={"L4-L5": 7.0})
    plain, walled = make_lumbar_phantom(**kw), make_lumbar_phantom(dura_mm=1.0, **kw)
    assert np.array_equal(plain.labels.array, walled.labels.array)  # the dura is not sac
    assert plain.truth == walled.truth
    canal = plain.labels.array == anatomy.canal().label
    changed = np.abs(walled.image.array - plain.image.array) > 0.2
    shell = ndimage.binary_dilation(canal, iterations=2) & ~canal
    inner = ndimage.binary_erosion(canal)  # the sac's edge voxels share the slice and blur with the wall
    assert not changed[inner].any() and changed[shell].mean() > 0.05
    for level in ("L2-L3", "L4-L5"):  # just behind the sac's posterior wall: fat without a dura, dark with one
        row = plain.disc(level)
        centre = np.asarray(row["canal_centre_lps"], float)
        behind = centre - (0.5 * row["canal_ap_diameter_mm"] + 0.5) * np.asarray(row["ap_direction_lps"], float)
        ijk = tuple(np.rint(plain.image.geometry.lps_to_index(behind)).astype(int))
        assert plain.labels.array[ijk] != anatomy.canal().label
        assert plain.image.array[ijk] > 0.6 and walled.image.array[ijk] < 0.2


@pytest.mark.parametrize("loss", [0.25, 0.5])
def test_a_wedge_fracture_loses_anterior_height_as_measured_and_leaves_the_discs_exact(loss):
    from disccore.measure import measure_segmentation

    ph = make_lumbar_phantom(seed=3, spacing=(0.5, 0.5, 2.0), fractures={"L2": loss}, noise=0, bias_field=0)
    true = ph.truth["vertebrae"]["L2"]
    assert true["vertebral_body_height_anterior_mm"] < (1 - 0.8 * loss) * true["vertebral_body_height_posterior_mm"]
    result = measure_segmentation(ph.labels, anatomy.default_label_names())
    body = next(v for v in result.vertebrae if v["level"] == "L2")
    for side in ("anterior", "middle", "posterior"):  # the measurement engine on the exact labels
        assert body[f"vertebra_height_{side}_mm"] == pytest.approx(true[f"vertebral_body_height_{side}_mm"], abs=0.5)
    for disc in ("L1-L2", "L2-L3"):  # the discs on either side keep their own heights (no gap, no overlap)
        row = next(d for d in result.discs if d["level"] == disc)
        assert row["disc_height_mm"] == pytest.approx(ph.truth["discs"][disc]["disc_height_mm"], abs=0.1)


def test_a_healthy_phantom_is_unchanged_by_the_fracture_option_and_a_wedge_turns_the_spine_forward():
    kw = dict(seed=3, spacing=(1.0, 1.0, 3.0), noise=0, bias_field=0)
    healthy, none = make_lumbar_phantom(**kw), make_lumbar_phantom(fractures={"L2": 0.0}, **kw)
    assert np.array_equal(healthy.labels.array, none.labels.array) and healthy.truth == none.truth
    fractured = make_lumbar_phantom(fractures={"L2": 0.4}, **kw)

    def turn(ph):  # signed sagittal angle from L1's axis to L3's (LPS y, z)
        (_, y1, z1), (_, y3, z3) = (ph.truth["vertebrae"][n]["axis_lps"] for n in ("L1", "L3"))
        return math.degrees(math.atan2(y3, z3) - math.atan2(y1, z1))

    a, h = 15.5, 26.0  # L2's AP semi-axis and height (phantom defaults): 40 % of h lost at the front
    wedge = math.degrees(2 * math.atan(0.4 * h / (4 * a)))
    assert abs(turn(fractured) - turn(healthy)) == pytest.approx(wedge, abs=0.1)  # the spine above turns with it
    with pytest.raises(ValueError, match="anterior height"):
        make_lumbar_phantom(fractures={"L2": 0.95}, **kw)


def test_the_sacrum_below_s1_is_unlabelled_bone_and_leaves_the_labelled_anatomy_where_it_was():
    kw = dict(seed=3, spacing=(1.0, 1.0, 3.0), noise=0, bias_field=0, centre_lps=(0.0, 12.0, -30.0))
    plain, sacral = make_lumbar_phantom(**kw), make_lumbar_phantom(sacrum_segments=2, **kw)
    bodies_and_discs = [s.label for s in anatomy.structures() if s.kind != "canal"]
    for ph in (plain, sacral):
        assert set(np.unique(ph.labels.array)) - {0} <= set(bodies_and_discs) | {anatomy.canal().label}
    keep = np.isin(plain.labels.array, bodies_and_discs)
    assert np.array_equal(np.where(keep, plain.labels.array, 0), np.where(keep, sacral.labels.array, 0))
    assert (
        sacral.truth["vertebrae"] == plain.truth["vertebrae"]
        and sacral.truth["discs"].keys() == plain.truth["discs"].keys()
    )
    s2 = sacral.model.vertebrae[-2]  # S2, unlabelled but drawn: bright marrow where the plain phantom has soft tissue
    ijk = tuple(np.round(sacral.image.geometry.lps_to_index(s2.centre[None])[0]).astype(int))
    assert s2.label == 0 and sacral.labels.array[ijk] == 0 and plain.labels.array[ijk] == 0
    assert sacral.image.array[ijk] > plain.image.array[ijk] + 0.15
    with pytest.raises(ValueError, match="below S1"):
        make_lumbar_phantom(levels=("L3", "L4", "L5"), sacrum_segments=1, **kw)


def test_a_lumbarised_s1_has_a_real_disc_below_it_and_the_sacrum_moves_down_by_it():
    kw = dict(seed=3, spacing=(1.0, 1.0, 3.0), noise=0, bias_field=0, sacrum_segments=1)
    fused = make_lumbar_phantom(**kw)
    lumbarised = make_lumbar_phantom(disc_heights={"S1-S2": 8.0}, **kw)
    (s1_s2_fused,), (s1_s2,) = ([d for d in ph.model.discs if d.name == "S1-S2"] for ph in (fused, lumbarised))
    assert s1_s2_fused.h_mid == 1.0 and s1_s2.h_mid == 8.0 and s1_s2.label == 0
    drop = np.linalg.norm(lumbarised.model.vertebrae[-1].centre - fused.model.vertebrae[-1].centre)
    assert drop == pytest.approx(7.0, abs=1e-6)  # S2 lies 7 mm farther along the axis; S1 and above stay
    assert np.array_equal(lumbarised.model.vertebrae[-2].centre, fused.model.vertebrae[-2].centre)
