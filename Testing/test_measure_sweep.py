"""A wider random sweep of analytic phantoms (slow): the accuracy targets hold across random geometry.

Random tilt, wedge, disc size, canal AP 8-20 mm, array order, oblique direction (3-10 degrees) and
sub-voxel phase. Grids exactly aligned with flat endplates are left out: there a 1 mm voxel mask is the
same for any disc height within a voxel, so no estimator can beat +-0.5 mm (see the report).
Disc volume is voxel count x voxel volume by definition; with 4-4.4 mm slices across a 45-55 mm wide
disc its sampling error reaches about 2 %, which is what is asserted here.
"""

from __future__ import annotations

import numpy as np
import pytest
from phantoms_analytic import random_stack

from disccore.measure import measure_segmentation

SPACINGS = {"0.5x0.5x4": (4.0, 0.5, 0.5), "0.43x0.43x4.4": (4.4, 0.43, 0.43), "1iso": (1.0, 1.0, 1.0)}


@pytest.mark.slow
@pytest.mark.parametrize("spacing_key", list(SPACINGS))
def test_random_sweep(spacing_key):
    rng = np.random.default_rng(list(SPACINGS).index(spacing_key) + 11)
    for _ in range(8):
        labels, names, truth = random_stack(rng, SPACINGS[spacing_key], min_oblique_deg=3)
        row = measure_segmentation(labels, names).discs[0]
        t = truth["discs"]["L4-L5"]
        assert row["disc_height_mm"] == pytest.approx(t["disc_height_mm"], abs=0.2)
        for key in ("disc_height_anterior_mm", "disc_height_middle_mm", "disc_height_posterior_mm"):
            assert row[key] == pytest.approx(t[key], abs=0.4), key
        assert row["canal_ap_diameter_mm"] == pytest.approx(t["canal_ap_diameter_mm"], abs=0.5)
        assert row["canal_area_mm2"] == pytest.approx(t["canal_area_mm2"], rel=0.03)
        assert row["disc_volume_mm3"] == pytest.approx(t["disc_volume_mm3"], rel=0.025)
