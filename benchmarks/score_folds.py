"""Re-score saved fold models on their held-out cases with today's inference and post-processing, without training.

`disccore train --folds K` saves each fold's weights (foldF.pt) and scores them once; after a change to what follows
the network (level naming, trimming) this scores the same weights again, the same way, so the cross-validation in
the model card can be brought up to date honestly. Weights are given in fold order (fold 0 first) and must have the
shipped model's architecture; the number of files is the number of folds, so a single file scores every image with
it (the ones it was trained on too). A ``-`` in place of a file leaves that fold's images unscored (a fold whose weights
are not at hand). ``--save-probabilities DIR`` also keeps each held-out image's class probabilities
(DIR/CASE.npy, uint8 0-255, on the image's grid) for studying the post-processing without the network.
``--thick-slices N`` scores thick-slice versions of the images instead: every N sagittal 1-mm slices averaged into one
(an N-mm acquisition of the same anatomy), the manual labels taken by majority over the same slices.
``--start-inside NAME`` / ``--end-inside NAME`` score a field of view that starts / ends mid-spine: each image's grid
cut at the height of the centre of its manual structure NAME (e.g. L2), the part above / below dropped; images without
NAME are left out.

    python benchmarks/score_folds.py --data ../shared/data -o cv.json cv0/fold0.pt cv1/fold1.pt cv2/fold2.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "DiscCore"))

from disccore.image import Geometry, SpatialImage  # noqa: E402
from disccore.models import resolve_model  # noqa: E402
from disccore.segment import context_offsets, load_network  # noqa: E402
from disccore.segment.infer import predict_probabilities  # noqa: E402
from disccore.training.data import list_cases, manual_labels_on_file_grid, read_case  # noqa: E402
from disccore.training.run import summarise  # noqa: E402
from disccore.training.train import folds_by_subject, score_probabilities  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the shared data folder (with ivd/, vb2/, vb3/)")
    ap.add_argument("-o", "--output", required=True, help="JSON to write (the layout of cross_validation.json)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-probabilities", metavar="DIR", help="also write each held-out image's probabilities here")
    ap.add_argument(
        "--thick-slices",
        type=int,
        default=1,
        metavar="N",
        help="score images with every N sagittal slices averaged into one (default 1: as stored)",
    )
    cut = ap.add_mutually_exclusive_group()
    cut.add_argument(
        "--start-inside",
        metavar="NAME",
        help="cut each image's grid at the centre of its manual NAME "
        "(e.g. L2), dropping the part above; images without NAME are left out",
    )
    cut.add_argument("--end-inside", metavar="NAME", help="the same, dropping the part below")
    ap.add_argument("weights", nargs="+", help="foldF.pt files, fold 0 first; - for a fold left unscored")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.output)
    if out.exists():
        sys.exit(f"{out} exists; not overwriting it")
    info = resolve_model(None)
    if args.save_probabilities:
        Path(args.save_probabilities).mkdir(parents=True, exist_ok=True)
    cases = list_cases(args.data)
    if not cases:
        sys.exit(f"no cases under {args.data}")
    fold_of = folds_by_subject(cases, len(args.weights))
    results = {}
    for f, weights in enumerate(args.weights):
        if weights == "-":
            continue
        net = load_network(info, "cpu", torch.load(weights, map_location="cpu", weights_only=True))
        for case, k in zip(cases, fold_of):
            if k == f:
                img, lab = read_case(case)
                if args.thick_slices > 1:
                    img, lab = thick_sliced(img, lab, args.thick_slices)
                if args.start_inside or args.end_inside:
                    manual = manual_labels_on_file_grid(case, img, lab).get(args.start_inside or args.end_inside)
                    if manual is None:
                        continue
                    img, lab = cut_at_the_centre_of(manual, img, lab, keep_inferior=bool(args.start_inside))
                probs = predict_probabilities(net, img, info.input_spacing_mm, context_offsets(info))
                if args.save_probabilities:
                    np.save(Path(args.save_probabilities) / f"{case.name}.npy", np.round(probs * 255).astype(np.uint8))
                results[case.name] = {
                    "dataset": case.dataset,
                    "fold": f,
                    "dice": score_probabilities(case, img, lab, probs),
                }
                print(
                    f"fold {f}: {case.name} " + " ".join(f"{n}={d:.3f}" for n, d in results[case.name]["dice"].items()),
                    flush=True,
                )
    summary = summarise(results)
    report = {
        "folds": len(args.weights),
        "weights": [str(w) for w in args.weights],
        "summary": summary,
        "cases": results,
    }
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(out)
    for name, s in summary.items():
        print(f"{name}: {s['mean']:.4f} (n={s['n']})" if s["mean"] is not None else f"{name}: - (n=0)")


def thick_sliced(img: SpatialImage, lab: SpatialImage, n: int) -> tuple[SpatialImage, SpatialImage]:
    """The image with every ``n`` sagittal slices averaged into one (partial volume as in a thick-slice acquisition)
    and its label map by majority over the same slices (labels do not overlap); trailing slices are dropped."""
    g = img.geometry
    lr = int(np.argmax(np.abs(g.direction[0])))  # the array axis closest to left-right

    def blocks(a: np.ndarray) -> np.ndarray:
        a = np.moveaxis(a, lr, 0)
        k = a.shape[0] // n
        return a[: k * n].reshape(k, n, *a.shape[1:])

    image = np.moveaxis(blocks(img.array.astype(np.float32)).mean(axis=1), 0, lr)
    labels = np.zeros(image.shape, lab.array.dtype)
    for value in np.unique(lab.array):
        if value:
            labels[np.moveaxis(blocks(lab.array == value).mean(axis=1) >= 0.5, 0, lr)] = value
    spacing = np.array(g.spacing, float)
    spacing[lr] *= n
    geometry = Geometry(image.shape, spacing, g.index_to_lps(np.eye(3)[lr] * (n - 1) / 2.0), g.direction)
    return SpatialImage(np.ascontiguousarray(image), geometry), SpatialImage(np.ascontiguousarray(labels), geometry)


def cut_at_the_centre_of(
    mask: np.ndarray, img: SpatialImage, lab: SpatialImage, keep_inferior: bool
) -> tuple[SpatialImage, SpatialImage]:
    """Image and labels on the part of their grid below (``keep_inferior``) or above the centre height of ``mask``: the
    grid cut across the array axis closest to superior-inferior, as a field of view that starts or ends there."""
    g = img.geometry
    si = int(np.argmax(np.abs(g.direction[2])))
    centre = int(round(float(np.argwhere(mask)[:, si].mean())))
    index = [slice(None)] * 3
    low_end_inferior = g.direction[2, si] > 0  # index 0 is the inferior end
    index[si] = slice(0, centre) if low_end_inferior == keep_inferior else slice(centre, None)
    start = np.zeros(3)
    start[si] = index[si].start or 0
    geometry = Geometry(img.array[tuple(index)].shape, g.spacing, g.index_to_lps(start), g.direction)
    return (
        SpatialImage(np.ascontiguousarray(img.array[tuple(index)]), geometry),
        SpatialImage(np.ascontiguousarray(lab.array[tuple(index)]), geometry),
    )


if __name__ == "__main__":
    main()
