"""A disc far darker than the other discs of its image is flagged (degenerated: its outline may take in the endplates);
one contrast where every disc is darker than bone (T1) flags none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from disccore import anatomy
from disccore.image import Geometry, SpatialImage
from disccore.quality import THRESHOLDS
from disccore.quality.disc_signal import disc_to_body_signals, relative_disc_signals
from disccore.segment.quality import SegmentationQuality, StructureQuality, flag_dark_discs

BODIES = ("L1", "L2", "L3", "L4", "L5")
DISCS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


# array axis 0 runs from superior to inferior (LPS z falls), axes 1 and 2 anterior-posterior and left-right
SUPERIOR_TO_INFERIOR = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])


def _column(body_signal: float, disc_signals: dict) -> tuple[np.ndarray, np.ndarray]:
    """(image, labels): five bodies and the discs below them stacked along axis 0, each a uniform block inside the
    grid, with two empty rows below (L5-S1 does not reach the image's lower edge)."""
    labels = np.zeros((62, 8, 8), np.uint8)
    image = np.zeros(labels.shape, np.float32)
    for k, (body, disc) in enumerate(zip(BODIES, DISCS)):
        labels[12 * k : 12 * k + 8, 1:7, 1:7] = anatomy.by_name(body).label
        image[12 * k : 12 * k + 8, 1:7, 1:7] = body_signal
        labels[12 * k + 8 : 12 * k + 12, 1:7, 1:7] = anatomy.by_name(disc).label
        image[12 * k + 8 : 12 * k + 12, 1:7, 1:7] = disc_signals.get(disc, 1.5 * body_signal)
    return image, labels


def test_each_disc_is_judged_against_its_bodies_then_the_other_discs():
    image, labels = _column(100.0, {"L4-L5": 45.0})
    signals = disc_to_body_signals(image, labels)
    assert signals["L3-L4"] == pytest.approx(1.5) and signals["L4-L5"] == pytest.approx(0.45)
    assert signals["L5-S1"] == pytest.approx(1.5)  # only L5 beside it (no S1 named)
    relative = relative_disc_signals(signals)
    assert relative["L4-L5"] == pytest.approx(0.3) and relative["L1-L2"] == pytest.approx(1.0)


def test_a_disc_cut_by_the_top_or_bottom_of_the_image_is_left_out():
    image, labels = _column(100.0, {"L5-S1": 45.0})
    assert "L5-S1" in disc_to_body_signals(image, labels, SUPERIOR_TO_INFERIOR)
    cut = labels[:-2], image[:-2]  # the image ends at the L5-S1 disc's lower edge
    assert "L5-S1" not in disc_to_body_signals(cut[1], cut[0], SUPERIOR_TO_INFERIOR)
    assert "L5-S1" in disc_to_body_signals(cut[1], cut[0])  # no geometry given: every disc
    across = SUPERIOR_TO_INFERIOR[:, [2, 1, 0]]  # axis 0 runs left-right: the edge reached is a lateral one
    assert "L5-S1" in disc_to_body_signals(cut[1], cut[0], across)


def test_a_contrast_where_every_disc_is_dark_flags_none():
    image, labels = _column(300.0, {d: 120.0 for d in DISCS})  # T1-like: discs at 0.4 of the marrow
    relative = relative_disc_signals(disc_to_body_signals(image, labels))
    assert all(v == pytest.approx(1.0) for v in relative.values())


def test_too_few_other_discs_give_no_comparison():
    relative = relative_disc_signals({"L4-L5": 0.3, "L5-S1": 1.2})
    assert relative == {"L4-L5": None, "L5-S1": None}


@pytest.mark.parametrize("darkened, flagged", [(45.0, True), (0.8 * 150.0, False)])
def test_the_dark_disc_alone_is_flagged(darkened, flagged):
    image, labels = _column(100.0, {"L4-L5": darkened})
    q = SegmentationQuality(structures={n: StructureQuality(0.95, 0.95, 1000.0) for n in (*BODIES, *DISCS)})
    flag_dark_discs(q, SpatialImage(image, Geometry(image.shape, direction=SUPERIOR_TO_INFERIOR)), labels, THRESHOLDS)
    dark = sorted(n for n, s in q.structures.items() if any(f.startswith("darker than the other") for f in s.flags))
    assert dark == (["L4-L5"] if flagged else [])
    assert q.structures["L4-L5"].relative_signal == pytest.approx(darkened / 150.0)
    assert q.structures["L4"].relative_signal is None  # bodies carry no disc signal


def test_a_disc_darkened_and_thinned_on_the_sample_is_flagged_alone():
    """The bundled sample with its L4-L5 darkened to 35 % and thinned to 60 % (the held-out benchmark's edit,
    training.variants.degenerate_disc), segmented by the shipped model."""

    from disccore.image import SpatialImage
    from disccore.io import read_image
    from disccore.segment import segment_image_with_quality
    from disccore.segment.canonical import reorientation_for
    from disccore.training.data import PreparedCase
    from disccore.training.variants import degenerate_disc

    samples = Path(__file__).resolve().parents[1] / "Resources" / "Samples"
    image = read_image(samples / "synthetic_lumbar_t2.nii.gz")
    labels = read_image(samples / "synthetic_lumbar_t2_labels.nii.gz")
    reo = reorientation_for(image.geometry.direction)
    case = PreparedCase(
        "sample",
        "phantom",
        reo.to_canonical(image.array).astype(np.float32),
        reo.to_canonical(labels.array).astype(np.int16),
        spacing=np.asarray(reo.spacing(image.geometry.spacing)),
    )
    edited = degenerate_disc(case, case.target == anatomy.by_name("L4-L5").label, 0.35, 0.6)
    back = SpatialImage(np.ascontiguousarray(reo.from_canonical(edited.image)), image.geometry)
    _, quality = segment_image_with_quality(back, backend="torch")
    dark = sorted(n for n, s in quality.structures.items() if any(f.startswith("darker than") for f in s.flags))
    assert dark == ["L4-L5"], {n: s.relative_signal for n, s in quality.structures.items()}
