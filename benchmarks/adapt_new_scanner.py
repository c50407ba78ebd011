"""`disccore adapt` on a simulated new scanner: Dice before / after, run time and peak memory.

The real MRI of one dataset (``--dataset``, default vb2) is given the look of another scanner by a fixed intensity
mapping (``--look``: ``t1`` maps T2's bright CSF dark and its dark marrow bright with a smooth non-monotonic curve, a
bias field and noise; ``none`` leaves it). ``--adapt-cases`` of those images, their vertebral bodies only (named by the
scheme, NIfTI + JSON sidecar: what a user corrects and saves), go through ``disccore adapt``; the parent and the
adapted model are then scored (Dice per vertebral body, matched by name) on the rest of that dataset with the same look,
and on untouched images of the other datasets (what the parent was made for: no loss beyond 0.01 is the target).

Leave-one-dataset-out: with ``--parent`` a model trained without ``--dataset`` (``disccore train`` on a data folder
that lacks it) and ``--replay-data`` that same folder, the new scanner is a real one the parent never saw, with its own
anatomy and readers. Without ``--parent``, the shipped parent was trained on every image of ../shared/data, so the
run measures adaptation to a new *look* only. Scores are reported per kind: lumbar bodies (L1-L5), thoracic bodies
(named T.., which a parent trained on L1-L5 labels only has never been taught) and discs (the ivd images' manual
discs, scored with the original kinds).

    python benchmarks/adapt_new_scanner.py --data ../shared/data --out /tmp/adapt-bench [--iterations 300]
    python benchmarks/adapt_new_scanner.py --data ../shared/data --out /tmp/lodo --look none --replay \
        --parent MODEL_WITHOUT_VB2 --replay-data DATA_WITHOUT_VB2          # leave-one-dataset-out
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "DiscCore"))

from disccore import anatomy  # noqa: E402
from disccore.image import SpatialImage  # noqa: E402
from disccore.io import write_image, write_segmentation  # noqa: E402
from disccore.training.adapt import AdaptConfig, _network_from, adapt, segment_with  # noqa: E402
from disccore.training.data import list_cases, manual_labels_on_file_grid, read_case  # noqa: E402
from disccore.training.model_folder import write_model_folder  # noqa: E402
from disccore.training.train import dice  # noqa: E402


def new_look(array: np.ndarray, look: str, seed: int) -> np.ndarray:
    """The image as another scanner might show it (uint16, 0..1000, as scanners store it)."""
    a = array.astype(np.float32)
    lo, hi = np.percentile(a[a > 0], [1, 99]) if (a > 0).any() else (0.0, 1.0)
    x = np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1.2)
    if look == "t1":
        # fluid (bright on T2) dark, intermediate tissue bright, darkest stays dark: a hump-shaped curve
        y = np.interp(x, [0.0, 0.15, 0.45, 0.75, 1.2], [0.0, 0.55, 0.9, 0.35, 0.15])
        rng = np.random.default_rng(seed)
        grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in a.shape], indexing="ij"))
        field = np.exp(np.tensordot(rng.normal(0, 0.25, 3), grid, axes=1))
        y = y * field + rng.normal(0, 0.03, a.shape)
    else:
        y = x
    return np.round(np.clip(y, 0, None) * 1000).astype(np.uint16)


def bodies_of(case, image, labels) -> dict:
    return {n: m for n, m in manual_labels_on_file_grid(case, image, labels).items() if "-" not in n}


def write_user_case(folder: Path, case, look: str, seed: int) -> None:
    """A corrected case as a user saves it: the image and its vertebral bodies named by the scheme."""
    image, labels = read_case(case)
    shifted = SpatialImage(new_look(image.array, look, seed), image.geometry)
    write_image(shifted, folder / f"{case.name}.nii.gz")
    out = np.zeros(labels.array.shape, np.uint8)
    for name, mask in bodies_of(case, image, labels).items():
        out[mask] = anatomy.by_name(name).label
    write_segmentation(SpatialImage(out, labels.geometry), folder / f"{case.name}.seg.nii.gz")


def structure_dice(net, parent, case, look: str, seed: int) -> dict:
    """Dice per manually labelled structure (bodies and discs), matched by name."""
    image, labels = read_case(case)
    if look != "none":
        image = SpatialImage(new_look(image.array, look, seed), image.geometry)
    predicted = segment_with(net, parent, image)
    truth = manual_labels_on_file_grid(case, image, labels)
    return {n: dice(predicted == anatomy.by_name(n).label, m) for n, m in truth.items()}


KINDS = {  # how the scores are summarised: kind -> which structure names it takes
    "bodies": lambda n: "-" not in n,
    "lumbar bodies": lambda n: "-" not in n and n.startswith("L"),
    "thoracic bodies": lambda n: "-" not in n and n.startswith("T"),
    "discs": lambda n: "-" in n,
}


def mean(scores: list[dict], kind: str = "bodies") -> float:
    values = [d for s in scores for n, d in s.items() if KINDS[kind](n)]
    return round(float(np.nanmean(values)), 4) if values else float("nan")


def compare(parent_net, net, parent, group, look: str, seed: int) -> dict:
    """Before (parent) and after (adapted) Dice on ``group``, per kind and per case."""
    before = [structure_dice(parent_net, parent, c, look, seed + i) for i, c in enumerate(group)]
    after = [structure_dice(net, parent, c, look, seed + i) for i, c in enumerate(group)]
    out = {"cases": [c.name for c in group]}
    for kind in KINDS:
        if not np.isnan(mean(before, kind)):
            out[kind] = {"before": mean(before, kind), "after": mean(after, kind)}
    out["per_case"] = {
        c.name: {n: [round(b[n], 4), round(a[n], 4)] for n in b} for c, b, a in zip(group, before, after)
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, help="work folder (cases, adapted model, results.json)")
    ap.add_argument("--dataset", default="vb2")
    ap.add_argument("--look", choices=("t1", "none"), default="t1")
    ap.add_argument("--adapt-cases", type=int, default=5)
    ap.add_argument("--score-cases", type=int, default=0, help="other images of the dataset scored (0: all the rest)")
    ap.add_argument("--original-cases", type=int, default=4, help="images of each other body dataset scored")
    ap.add_argument("--iterations", type=int, default=AdaptConfig.iterations)
    ap.add_argument("--parent", default=None, help="model name or folder to adapt (default: the shipped model)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replay", action="store_true", help="replay public cases while adapting (adapt --data)")
    ap.add_argument(
        "--replay-data",
        default=None,
        help="the folder replayed (default --data; leave-one-dataset-out: the "
        "parent's training folder, without --dataset)",
    )
    ap.add_argument(
        "--replay-weight",
        type=float,
        default=AdaptConfig.replay_weight,
        help="how often the replayed cases are drawn relative to the user's",
    )
    ap.add_argument(
        "--anchor-weight",
        type=float,
        default=AdaptConfig.anchor_weight,
        help="L2-SP weight pulling the weights towards the parent's",
    )
    ap.add_argument(
        "--distill-weight",
        type=float,
        default=AdaptConfig.distill_weight,
        help="pull of the replayed slices towards the parent's probabilities",
    )
    ap.add_argument("--threads", type=int, default=AdaptConfig.threads)
    ap.add_argument("--keep-model", action="store_true", help="also write the adapted model folder (OUT/model)")
    args = ap.parse_args()
    out = Path(args.out)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    cases = list_cases(args.data)
    target = [c for c in cases if c.dataset == args.dataset]
    adapt_on = target[: args.adapt_cases]
    scored = target[args.adapt_cases :][: args.score_cases or None]
    original = [
        c
        for ds in sorted({c.dataset for c in cases} - {args.dataset})
        for c in [c for c in cases if c.dataset == ds][: None if ds == "ivd" else args.original_cases]
    ]  # every ivd image (the only manual discs), the first images of each body dataset
    for i, c in enumerate(adapt_on):
        write_user_case(out / "cases", c, args.look, args.seed + i)
    replay = (args.replay_data or args.data) if args.replay else None
    start = time.monotonic()
    result = adapt(
        out / "cases",
        args.parent,
        AdaptConfig(
            iterations=args.iterations,
            seed=args.seed,
            replay_weight=args.replay_weight,
            anchor_weight=args.anchor_weight,
            distill_weight=args.distill_weight,
            threads=args.threads,
        ),
        data=replay,
        log=print,
        progress=lambda f, m: print(f"{f:5.1%} {m}", flush=True),
    )
    seconds = time.monotonic() - start
    if args.keep_model:  # to study a case with `disccore segment --model OUT/model`
        write_model_folder(result, out / "model", name=f"adapted-{args.dataset}-{args.look}")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    parent_net = _network_from(result.parent, __import__("torch").load(result.parent.path, weights_only=True))
    report = {
        "replay": replay,
        "parent": f"{result.parent.name} ({result.parent.path})",
        "dataset": args.dataset,
        "look": args.look,
        "adapt_cases": [c.name for c in adapt_on],
        "iterations": args.iterations,
        "replay_weight": args.replay_weight,
        "anchor_weight": args.anchor_weight,
        "distill_weight": args.distill_weight,
        "adapt_seconds": round(seconds),
        "peak_rss_gb": round(peak_gb, 2),
        "held_out_validation": result.validation["summary"],
    }
    for what, group, look in (("same scanner", scored, args.look), ("original kinds", original, "none")):
        report[what] = compare(parent_net, result.net, result.parent, group, look, args.seed + 100)
        print(what, {k: v for k, v in report[what].items() if k != "per_case"}, flush=True)
    (out / "results.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
