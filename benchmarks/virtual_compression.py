"""Canal AP on real images whose dural sac was narrowed on purpose at every disc, so the right answer is known.

For each real image (by default the held-out images of one cross-validation fold, to score that fold's model): the
image is segmented and measured as it is; then, for each squeeze of 2, 4, 6, 8 and 10 mm, the sac is compressed at
every lumbar disc of the midline slice (training.variants.compress_sac_at: the posterior disc margin pushed back along
the disc's AP line, the sac's posterior wall kept) and the image is segmented and measured again. The expected AP of a
level is its AP measured on the untouched image minus the squeeze; a squeeze that would leave under 1 mm is skipped.
Prints |measured - expected| (median, 95th percentile, share within 1 mm) and the stenosis flag against AP < 10 mm.

    PYTHONPATH=DiscCore python benchmarks/virtual_compression.py --data ../shared/data --weights cv0/fold0.pt --fold 0
"""

from __future__ import annotations

import argparse

import numpy as np
from heldout import add_heldout_arguments, add_sac_label_argument, held_out_cases, score_cases
from model_choice import add_model_arguments, segmenter

from disccore import anatomy
from disccore.image import SpatialImage
from disccore.measure import measure_segmentation
from disccore.measure.constants import DURAL_SAC_AP_ABSOLUTE_MM
from disccore.segment.canonical import reorientation_for
from disccore.training.data import prepare_case, read_case
from disccore.training.variants import compress_sac_at, sac_sites

SQUEEZES_MM = (2.0, 4.0, 6.0, 8.0, 10.0)
MIN_LEFT_MM = 1.0


def level_at(labels_canonical: np.ndarray, site) -> str | None:
    """The disc level whose label lies nearest the site's point in its slice (None if no disc there)."""
    disc_values = {d.label: d.name for d in anatomy.discs()}
    plane = labels_canonical[site.slice]
    rows, cols = np.nonzero(np.isin(plane, list(disc_values)))
    if len(rows) == 0:
        return None
    nearest = np.argmin((rows - site.point[0]) ** 2 + (cols - site.point[1]) ** 2)
    if (rows[nearest] - site.point[0]) ** 2 + (cols[nearest] - site.point[1]) ** 2 > 5.0**2:
        return None
    return disc_values[int(plane[rows[nearest], cols[nearest]])]


def measured_ap(segment, prepared, reo, geometry) -> tuple[dict, np.ndarray]:
    """({level: AP mm}, the labels in the canonical layout) of the canonical image ``prepared.image``."""
    labels = segment(SpatialImage(np.ascontiguousarray(reo.from_canonical(prepared.image)), geometry))
    result = measure_segmentation(labels, anatomy.default_label_names())
    aps = {r["level"]: r.get("canal_ap_diameter_mm") for r in result.discs}
    return {k: v for k, v in aps.items() if v is not None}, reo.to_canonical(labels.array)


def score_case(segment, case, sac_label: str) -> list[dict]:
    image, _ = read_case(case)
    reo = reorientation_for(image.geometry.direction)
    prepared = prepare_case(case, sac_label=sac_label)
    base_ap, base_labels = measured_ap(segment, prepared, reo, image.geometry)
    sites = [(s, level_at(base_labels, s)) for s in sac_sites(prepared)]
    sites = [(s, lv) for s, lv in sites if lv in base_ap]
    rows = []
    for squeeze in SQUEEZES_MM:
        squeezed, expected = prepared, {}
        for site, level in sites:
            if site.ap_mm - squeeze >= MIN_LEFT_MM and base_ap[level] - squeeze >= MIN_LEFT_MM:
                squeezed = compress_sac_at(squeezed, site, squeeze)
                expected[level] = base_ap[level] - squeeze
        if not expected:
            continue
        aps, _ = measured_ap(segment, squeezed, reo, image.geometry)
        for level, want in expected.items():
            got = aps.get(level)
            rows.append({"case": case.name, "level": level, "squeeze": squeeze, "expected": want, "measured": got})
    return rows


def summarise(rows: list[dict]) -> dict:
    found = [r for r in rows if r["measured"] is not None]
    err = np.abs([r["measured"] - r["expected"] for r in found])
    narrow = [r for r in found if r["expected"] < DURAL_SAC_AP_ABSOLUTE_MM]
    wide = [r for r in found if r["expected"] >= DURAL_SAC_AP_ABSOLUTE_MM]
    return {
        "levels": len(rows),
        "measured": len(found),
        "abs_error_median_mm": float(np.median(err)),
        "abs_error_p95_mm": float(np.percentile(err, 95)),
        "within_1mm": float(np.mean(err <= 1.0)),
        "signed_error_median_mm": float(np.median([r["measured"] - r["expected"] for r in found])),
        "flagged_when_expected_below_10mm": float(np.mean([r["measured"] < DURAL_SAC_AP_ABSOLUTE_MM for r in narrow]))
        if narrow
        else None,
        "not_flagged_when_expected_10mm_or_more": float(
            np.mean([r["measured"] >= DURAL_SAC_AP_ABSOLUTE_MM for r in wide])
        )
        if wide
        else None,
    }


def _mm(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    add_sac_label_argument(ap)
    add_model_arguments(ap)
    args = ap.parse_args()
    segment = segmenter(args)

    def show(rows):
        return " ".join(f"{r['level']}@{r['squeeze']:g}:{r['expected']:.1f}->{_mm(r['measured'])}" for r in rows)

    score_cases(
        held_out_cases(args), lambda case: score_case(segment, case, args.sac_label), show, summarise, args.output
    )


if __name__ == "__main__":
    main()
