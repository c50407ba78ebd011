"""Vertebral-body Dice of the shipped model on synthetic phantoms it never saw (T1 and T2, 3-5 mm slices, S1 present).

A robustness check beside the cross-validation: other contrasts and slice thicknesses, and a sacrum that looks like a
vertebral body. Prints, per phantom, the Dice of T12..L5 with the trimmed bodies that `disccore segment` outputs and
with plain arg-max bodies, and whether the levels were named right (all zero when the naming is shifted); and the
Dice of the discs T12-L1..L5-S1 as output and as arg-max (a phantom's disc fills the whole gap between its
vertebrae, wider than manual discs drawn on thick slices, so trimming may cost here what it gains on those). Then, on
three more phantoms, fields of view that end at several heights around the L5-S1 disc (the image blanked below):
whether L3-L5 are still named right.

    python benchmarks/segment_phantoms.py [--weights other_model.pt]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "DiscCore"))

from disccore import anatomy  # noqa: E402
from disccore.models import resolve_model  # noqa: E402
from disccore.phantom import make_lumbar_phantom  # noqa: E402
from disccore.segment import context_offsets, load_network  # noqa: E402
from disccore.segment.infer import predict_probabilities  # noqa: E402
from disccore.segment.levels import name_levels  # noqa: E402
from disccore.training.train import dice  # noqa: E402

BODIES = ("T12", "L1", "L2", "L3", "L4", "L5")
DISCS = ("T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
ARG_MAX = {
    "body_trim_probability": 0.0,
    "disc_trim_probability": 0.0,
    "body_section_share": 0.0,
    "disc_section_share": 0.0,
}
# (seed, contrast, voxel size in mm: in-plane, in-plane, slice); seeds differ from the training phantoms' stream
CASES = [
    (101, "T1", (0.6, 0.6, 4.0)),
    (102, "T1", (0.8, 0.8, 3.0)),
    (103, "T2", (0.6, 0.6, 4.4)),
    (104, "T1", (0.6, 0.6, 4.0)),
    (105, "T2", (0.9, 0.9, 3.3)),
    (106, "T1", (0.7, 0.7, 5.0)),
]

CUT_CASES = [(20261122, "T2"), (201, "T1"), (202, "T2")]
CUTS_BELOW_L5_S1_MM = (40.0, 12.0, 3.0, -6.0, -18.0)  # negative: above the disc centre, i.e. through L5


def dice_per_level(labels: np.ndarray, truth: np.ndarray, names=BODIES) -> list[float]:
    return [dice(labels == anatomy.by_name(n).label, truth == anatomy.by_name(n).label) for n in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="a state_dict to use instead of the shipped weights (same architecture)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    info = resolve_model(None)
    net = load_network(info, "cpu")
    if args.weights:
        net.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))
    trimmed_means, argmax_means, disc_means, disc_argmax_means = [], [], [], []
    for seed, contrast, spacing in CASES:
        ph = make_lumbar_phantom(
            seed=seed,
            contrast=contrast,
            spacing=spacing,
            lordosis_deg=20 + seed % 5 * 7,
            disc_heights=6 + seed % 4 * 2,
            levels=BODIES + ("S1",),
            fov=(240.0, 240.0, 60.0),
        )
        probs = predict_probabilities(net, ph.image, info.input_spacing_mm, context_offsets(info), "cpu")
        output = name_levels(probs, ph.image.geometry)[0].array
        argmax_output = name_levels(probs, ph.image.geometry, **ARG_MAX)[0].array
        trimmed, argmax = dice_per_level(output, ph.labels.array), dice_per_level(argmax_output, ph.labels.array)
        discs = dice_per_level(output, ph.labels.array, DISCS)
        discs_argmax = dice_per_level(argmax_output, ph.labels.array, DISCS)
        named = max(trimmed) > 0
        print(
            f"seed {seed} {contrast} {spacing}: {'named right' if named else 'levels shifted'}; "
            f"bodies trimmed {np.mean(trimmed):.3f} {np.round(trimmed, 3).tolist()}, arg-max {np.mean(argmax):.3f}; "
            f"discs {np.mean(discs):.3f}, arg-max {np.mean(discs_argmax):.3f}"
        )
        if named:
            trimmed_means.append(np.mean(trimmed))
            argmax_means.append(np.mean(argmax))
            disc_means.append(np.mean(discs))
            disc_argmax_means.append(np.mean(discs_argmax))
    mean = lambda v: np.mean(v) if v else float("nan")  # noqa: E731
    print(
        f"named right: {len(trimmed_means)}/{len(CASES)}; where right, bodies trimmed {mean(trimmed_means):.3f}, "
        f"arg-max {mean(argmax_means):.3f}; discs {mean(disc_means):.3f}, arg-max {mean(disc_argmax_means):.3f}"
    )
    field_of_view_cuts(net, info)


def field_of_view_cuts(net, info) -> None:
    from disccore.image import SpatialImage

    for seed, contrast in CUT_CASES:
        ph = make_lumbar_phantom(
            seed=seed,
            contrast=contrast,
            spacing=(0.6, 0.6, 4.0),
            fov=(240.0, 240.0, 60.0),
            levels=BODIES + ("S1",),
            noise=0.03,
            bias_field=0.2,
        )
        g = ph.image.geometry
        disc_z = g.index_to_lps(np.argwhere(ph.labels.array == anatomy.by_name("L5-S1").label))[:, 2].mean()
        z = g.index_to_lps(np.indices(ph.image.array.shape).reshape(3, -1).T)[:, 2].reshape(ph.image.array.shape)
        for below in CUTS_BELOW_L5_S1_MM:
            image = SpatialImage(np.where(z >= disc_z - below, ph.image.array, 0).astype(np.float32), g)
            probs = predict_probabilities(net, image, info.input_spacing_mm, context_offsets(info), "cpu")
            d = dice_per_level(name_levels(probs, g)[0].array, ph.labels.array, ("L3", "L4", "L5"))
            print(
                f"seed {seed} {contrast}, field of view ending {below:+.0f} mm below the L5-S1 disc centre: "
                f"{'named right' if max(d) > 0 else 'levels shifted'}; L3-L5 {np.round(d, 2).tolist()}"
            )


if __name__ == "__main__":
    main()
