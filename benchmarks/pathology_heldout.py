"""Real held-out images made scoliotic or degenerated, scored against their manual labels warped the same way.

- **Lateral curves**: each image and its labels bent by a C curve spanning the image (training.variants.curved) with a
  Cobb angle of 20, 30 and 40 degrees, each level turned about the spine's axis by ``--apical-rotation`` degrees per
  degree of Cobb angle at the apex (default training.variants.APICAL_ROTATION_PER_COBB; 0: shifted only, as until
  version 3.0.0's benchmarks): the share of manual levels named right (the predicted structure overlapping a manual
  one most carries its name) and the Dice per level, against the unbent image.
- **Anterolisthesis and lordosis** (``--only anatomy``): the column above L4-L5 slid forward by a quarter of the disc's
  depth (its manual disc, or the one derived between manual L4 and L5), and the labelled spine pushed 10 mm forward
  (stronger lordosis) or back (flatter) at its middle: names and Dice per level against the unedited image.
- **Degenerated discs** (images with manual discs): L4-L5 and L5-S1 darkened to 35 % of their signal and thinned to
  60 % of their height (training.variants.degenerate_disc): disc Dice against the unedited image's, and the measured
  disc height against the height measured on the edited manual labels.

    PYTHONPATH=DiscCore python benchmarks/pathology_heldout.py --data ../shared/data --weights cv0/fold0.pt --fold 0
    [--only curves|anatomy|discs] [--apical-rotation 0.45] [--dataset vb2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from heldout import add_heldout_arguments, held_out_cases
from model_choice import add_model_arguments, segmenter

from disccore import anatomy
from disccore.image import SpatialImage
from disccore.measure import measure_segmentation
from disccore.segment.canonical import reorientation_for
from disccore.training.data import MANUAL_DISC_DATASETS, PreparedCase, manual_labels_on_file_grid, read_case
from disccore.training.derive import derive_discs_between_bodies
from disccore.training.train import dice
from disccore.training.variants import (
    APICAL_ROTATION_PER_COBB,
    c_curve_drift,
    curved,
    degenerate_disc,
    disc_plane,
    lordosis,
    slipped,
)

COBB_DEG = (20.0, 30.0, 40.0)
DEGENERATED = ("L4-L5", "L5-S1")
DARKENING, THINNING = 0.35, 0.6
SLIP_LEVEL, SLIP_SHARE = "L4-L5", 0.25  # anterolisthesis: Meyerding grade I at its limit, at its commonest level
LORDOSIS_MM = (10.0, -10.0)  # stronger, flatter


class Held:
    """One held-out image in the canonical layout (image and manual label values) and the way back to its file."""

    def __init__(self, case):
        self.case = case
        self.image, self.labels = read_case(case)
        self.reo = reorientation_for(self.image.geometry.direction)
        self.canonical = PreparedCase(
            case.name,
            case.dataset,
            self.reo.to_canonical(self.image.array).astype(np.float32),
            self.reo.to_canonical(self.labels.array).astype(np.int8),
            spacing=np.asarray(self.reo.spacing(self.image.geometry.spacing)),
        )

    def as_file(self, edited: PreparedCase) -> tuple[SpatialImage, SpatialImage]:
        back = lambda a: SpatialImage(np.ascontiguousarray(self.reo.from_canonical(a)), self.image.geometry)  # noqa: E731
        return back(edited.image), back(np.clip(edited.target, 0, None).astype(np.uint8))

    def manual(self, labels: SpatialImage) -> dict:
        return manual_labels_on_file_grid(self.case, self.image, labels)


def level_scores(predicted: SpatialImage, manual: dict) -> dict:
    """{level: (named right, Dice)}: named right when the predicted structure overlapping the manual one most has its
    name."""
    names = {s.label: s.name for s in anatomy.structures()}
    out = {}
    for name, mask in manual.items():
        values, counts = np.unique(predicted.array[mask], return_counts=True)
        hits = [(c, v) for v, c in zip(values, counts) if v in names and names[v] != "canal"]
        right = bool(hits) and names[max(hits)[1]] == name
        out[name] = (right, dice(predicted.array == anatomy.by_name(name).label, mask))
    return out


def bent(held: Held, cobb: float, rotation_per_cobb: float) -> tuple[SpatialImage, SpatialImage]:
    """(image, labels) of the held-out image bent by a C curve of ``cobb`` degrees, its apex turned by
    ``rotation_per_cobb`` x ``cobb`` degrees; as it is when ``cobb`` is 0."""
    if not cobb:
        return held.image, held.labels
    drift = c_curve_drift(held.canonical.image.shape[1], float(held.canonical.spacing[1]), cobb)
    return held.as_file(curved(held.canonical, drift, rotation_per_cobb * cobb))


def add_rotation_argument(ap) -> None:
    ap.add_argument(
        "--apical-rotation",
        type=float,
        default=APICAL_ROTATION_PER_COBB,
        help="axial rotation of a curve's apex, degrees per degree of Cobb angle (0: the levels shifted only)",
    )


def curves(segment, held: Held, rotation_per_cobb: float) -> list[dict]:
    rows = []
    base = level_scores(segment(held.image), held.manual(held.labels))
    for cobb in (0.0, *COBB_DEG):
        if cobb:
            image, labels = bent(held, cobb, rotation_per_cobb)
            scores = level_scores(segment(image), held.manual(labels))
        else:
            scores = base
        for level, (right, d) in scores.items():
            rows.append({"case": held.case.name, "cobb": cobb, "level": level, "named_right": right, "dice": d})
    return rows


def anatomy_variants(held: Held) -> dict:
    """{variant name: the edited canonical case}: anterolisthesis at SLIP_LEVEL (where its disc is known) and the two
    lordoses."""
    out = {}
    disc = slip_disc(held)
    if disc is not None:
        plane = disc_plane(disc, held.canonical.spacing)
        out[f"anterolisthesis {SLIP_SHARE:.0%} at {SLIP_LEVEL}"] = slipped(
            held.canonical, plane, SLIP_SHARE * plane.depth_mm
        )
    for sagitta in LORDOSIS_MM:
        name = f"lordosis {'stronger' if sagitta > 0 else 'flatter'} {abs(sagitta):g} mm"
        out[name] = lordosis(held.canonical, None, sagitta)
    return out


def slip_disc(held: Held):
    """SLIP_LEVEL's disc in the canonical layout: the manual one, or the gap between the manual bodies around it."""
    manual = {n: held.reo.to_canonical(m) for n, m in held.manual(held.labels).items()}
    if SLIP_LEVEL in manual:
        return manual[SLIP_LEVEL]
    upper, lower = anatomy.by_name(SLIP_LEVEL).upper, anatomy.by_name(SLIP_LEVEL).lower
    if upper in manual and lower in manual:
        return derive_discs_between_bodies({upper: manual[upper], lower: manual[lower]}, held.canonical.spacing).get(
            SLIP_LEVEL
        )
    return None


def anatomy_rows(segment, held: Held) -> list[dict]:
    base = level_scores(segment(held.image), held.manual(held.labels))
    rows = []
    for variant, edited in anatomy_variants(held).items():
        image, labels = held.as_file(edited)
        for level, (right, d) in level_scores(segment(image), held.manual(labels)).items():
            before = base.get(level, (False, float("nan")))[1]
            rows.append(
                {
                    "case": held.case.name,
                    "variant": variant,
                    "level": level,
                    "named_right": right,
                    "dice": d,
                    "dice_unedited": before,
                }
            )
    return rows


def with_degenerated_discs(held: Held) -> tuple[SpatialImage, SpatialImage]:
    """(image, manual labels) with the DEGENERATED discs darkened and thinned, on the file's grid."""
    edited = held.canonical
    for name in DEGENERATED:
        value = [v for v, n in manual_values(held).items() if n == name]
        if value:
            edited = degenerate_disc(edited, edited.target == value[0], DARKENING, THINNING)
    return held.as_file(edited)


def degenerated(segment, held: Held) -> list[dict]:
    image, labels = with_degenerated_discs(held)
    truth = held.manual(labels)
    before = level_scores(segment(held.image), held.manual(held.labels))
    predicted = segment(image)
    after = level_scores(predicted, truth)
    measured = {r["level"]: r for r in measure_segmentation(predicted, anatomy.default_label_names()).discs}
    truth_map = named_map(truth, labels)
    expected = {r["level"]: r for r in measure_segmentation(truth_map, anatomy.default_label_names()).discs}
    rows = []
    for name in DEGENERATED:
        if name in before and name in after:
            got, want = measured.get(name, {}), expected.get(name, {})
            rows.append(
                {
                    "case": held.case.name,
                    "level": name,
                    "dice_before": before[name][1],
                    "dice_after": after[name][1],
                    "height_measured": got.get("disc_height_mm"),
                    "height_expected": want.get("disc_height_mm"),
                }
            )
    return rows


def manual_values(held: Held) -> dict:
    """{label value in the file: level name}."""
    names = held.manual(held.labels)
    return {int(np.unique(held.labels.array[m])[0]): n for n, m in names.items()}


def named_map(manual: dict, like: SpatialImage) -> SpatialImage:
    """A label map of the manual structures with their scheme values."""
    out = np.zeros(like.array.shape, np.uint8)
    for name, mask in manual.items():
        out[mask] = anatomy.by_name(name).label
    return SpatialImage(out, like.geometry)


def summarise(curve_rows: list[dict], disc_rows: list[dict], edited_rows: list[dict] = ()) -> dict:
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in edited_rows):
        rows = [r for r in edited_rows if r["variant"] == variant]
        out[variant] = {
            "levels": len(rows),
            "named_right": float(np.mean([r["named_right"] for r in rows])),
            "dice": float(np.mean([r["dice"] for r in rows])),
            "dice_loss_vs_unedited": float(np.nanmean([r["dice_unedited"] - r["dice"] for r in rows])),
        }
    base = {(r["case"], r["level"]): r for r in curve_rows if r["cobb"] == 0}
    for cobb in (0.0, *COBB_DEG):
        rows = [r for r in curve_rows if r["cobb"] == cobb]
        if rows:
            loss = [base[(r["case"], r["level"])]["dice"] - r["dice"] for r in rows if (r["case"], r["level"]) in base]
            out[f"cobb {cobb:g}"] = {
                "levels": len(rows),
                "named_right": float(np.mean([r["named_right"] for r in rows])),
                "dice": float(np.mean([r["dice"] for r in rows])),
                "dice_loss_vs_unbent": float(np.mean(loss)),
            }
    if disc_rows:
        heights = [r for r in disc_rows if r["height_measured"] is not None and r["height_expected"] is not None]
        out["degenerated discs"] = {
            "discs": len(disc_rows),
            "dice_before": float(np.mean([r["dice_before"] for r in disc_rows])),
            "dice_after": float(np.mean([r["dice_after"] for r in disc_rows])),
            "height_abs_error_mm": [round(abs(r["height_measured"] - r["height_expected"]), 2) for r in heights],
            "height_error_mean_mm": float(np.mean([r["height_measured"] - r["height_expected"] for r in heights])),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_heldout_arguments(ap)
    add_model_arguments(ap)
    ap.add_argument(
        "--only", choices=("curves", "anatomy", "discs"), help="run one part (default: curves and degenerated discs)"
    )
    add_rotation_argument(ap)
    args = ap.parse_args()
    segment = segmenter(args)
    curve_rows, disc_rows, edited_rows = [], [], []
    for case in held_out_cases(args):
        hand_drawn_discs = case.dataset in MANUAL_DISC_DATASETS
        if args.only == "discs" and not hand_drawn_discs:
            continue
        held = Held(case)
        if args.only == "anatomy":
            rows = anatomy_rows(segment, held)
            edited_rows += rows
            wrong = [f"{r['level']}@{r['variant']}" for r in rows if not r["named_right"]]
            print(f"{case.name}: misnamed {wrong or 'none'}", flush=True)
            continue
        if args.only != "discs":
            rows = curves(segment, held, args.apical_rotation)
            curve_rows += rows
            wrong = [f"{r['level']}@{r['cobb']:g}" for r in rows if not r["named_right"]]
            print(f"{case.name}: misnamed {wrong or 'none'}", flush=True)
        if hand_drawn_discs and args.only != "curves":
            disc_rows += degenerated(segment, held)
            print(f"{case.name} degenerated: {disc_rows[-len(DEGENERATED) :]}", flush=True)
    summary = summarise(curve_rows, disc_rows, edited_rows)
    print(json.dumps(summary, indent=1))
    if args.output:
        rows = {"curves": curve_rows, "discs": disc_rows, "anatomy": edited_rows}
        Path(args.output).write_text(json.dumps({"summary": summary, **rows}, indent=1))


if __name__ == "__main__":
    main()
