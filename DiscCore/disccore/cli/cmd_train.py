"""``disccore train``: train the segmentation model from ../shared/data, reproducibly (fixed seed)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  disccore train --data ../shared/data -o models/disc-unet2d --seed 0                # the shipped model
  disccore train --data ../shared/data -o /tmp/cv --folds 3 --cv-only                 # cross-validation by subject
  disccore train --data ../shared/data -o /tmp/smoke --smoke                          # tiny run (CI)
  disccore train --data ../shared/data -o /tmp/more --init models/disc-unet2d/model.pt \\
      --cycles 1 --iterations 1600 --learning-rate 1e-3 --seed 4 --disc-margin-from-cycle 1   # one more cycle

writes OUT/model.pt (state_dict), OUT/entry.json (its manifest entry with sha256) and, with --folds,
OUT/cross_validation.json (Dice per held-out case and structure)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the segmentation model (CPU or GPU), with optional cross-validation",
        description="Train the 2D sagittal U-Net on the real MRI in --data (discs annotated on some images, vertebral "
        "bodies on others; discs between annotated bodies and the canal from CSF are derived), with a partial-label "
        "loss, and export the weights and their manifest entry.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="the shared data folder (with ivd/, vb2/, vb3/)")
    p.add_argument("-o", "--output", required=True, help="output folder for the model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--iterations", type=int, default=None, help="iterations of the first cycle (default from the recipe)"
    )
    p.add_argument(
        "--cycles",
        type=int,
        default=None,
        help="training cycles (default from the recipe); each later one restarts the learning-rate schedule "
        "from the weights the previous one ended with",
    )
    p.add_argument("--folds", type=int, default=0, help="cross-validate with this many folds by subject first")
    p.add_argument("--fold", type=int, action="append", default=None, help="run only this fold (repeatable)")
    p.add_argument("--cv-only", action="store_true", help="cross-validate only; do not train the final model")
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="peak learning rate of the first cycle (default from the recipe)",
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="WEIGHTS",
        help="start the first cycle from these weights (model.pt or foldK.pt) instead of at random; with "
        "--folds, run exactly one --fold (its own fold's weights)",
    )
    _add_label_options(p)
    p.add_argument(
        "--features",
        type=_features,
        default=None,
        metavar="F0,F1,F2,F3,F4,F5",
        help="U-Net feature counts per level (MONAI BasicUNet order; default from the recipe)",
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    p.add_argument("--name", default="disc-unet2d")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--smoke", action="store_true", help="a tiny run on 2 cases per dataset (seconds), for CI")
    p.set_defaults(func=run)


def _add_label_options(p) -> None:
    """The recipe's training material: the derived discs' rim, the pathology variants, the sac label rule."""
    from ..training.sac_rules import DEFAULT_SAC_LABEL, SAC_LABEL_RULES

    p.add_argument(
        "--disc-endplate-margin",
        type=int,
        default=None,
        metavar="VOXELS",
        help="let the rim of each derived or synthetic disc along the vertebral bodies, this many voxels wide, "
        "be disc or background (default from the recipe; 0: never)",
    )
    p.add_argument(
        "--disc-margin-from-cycle",
        type=int,
        default=None,
        metavar="K",
        help="the first cycle (1-based) that trains with that margin (default from the recipe)",
    )
    p.add_argument(
        "--no-pathology-variants",
        action="store_true",
        help="train without the compressed-sac, lateral-curve and degenerated-disc variants of the real images",
    )
    p.add_argument(
        "--manual-disc-degenerations",
        type=int,
        default=None,
        metavar="N",
        help="add N degenerated-disc variants (darkened, thinned) of each image with hand-drawn discs per cycle "
        "(default from the recipe)",
    )
    p.add_argument(
        "--sac-label",
        choices=sorted(SAC_LABEL_RULES),
        default=None,
        help=f"how the dural sac's training label is derived (default {DEFAULT_SAC_LABEL}, the shipped model's: the "
        "first bright run of CSF; with-roots: on through the grey cord and roots, phantoms with roots and a dura)",
    )


def run(args) -> int:
    from dataclasses import replace

    from ..errors import InputError
    from ..training.run import run_training
    from ..training.train import TrainConfig

    data = Path(args.data)
    if not (data / "ivd").is_dir() and not (data / "vb3").is_dir():
        raise InputError(f"'{data}' holds no training data (expected ivd/, vb2/, vb3/ folders)")
    config = TrainConfig(seed=args.seed, threads=args.threads)
    if args.smoke:
        config = replace(
            config,
            iterations=3,
            cycles=2,
            cycle_iterations=2,
            batch_size=2,
            crop=64,
            synthetic_cases=1,
            disc_margin_from_cycle=2,
        )
    if args.iterations:
        config = replace(config, iterations=args.iterations)
    if args.cycles:
        config = replace(config, cycles=args.cycles)
    if args.features:
        config = replace(config, features=args.features)
    if args.learning_rate:
        config = replace(config, learning_rate=args.learning_rate)
    if args.disc_endplate_margin is not None:
        config = replace(config, disc_endplate_margin=args.disc_endplate_margin)
    if args.no_pathology_variants:
        config = replace(config, pathology_variants=False)
    if args.manual_disc_degenerations is not None:
        config = replace(config, manual_disc_degenerations=args.manual_disc_degenerations)
    if args.disc_margin_from_cycle is not None:
        config = replace(config, disc_margin_from_cycle=args.disc_margin_from_cycle)
    if args.sac_label:
        config = replace(config, sac_label=args.sac_label)
    if args.init:
        if not Path(args.init).is_file():
            raise InputError(f"--init: no weights file '{args.init}'")
        if args.folds and (not args.fold or len(args.fold) != 1 or not args.cv_only):
            raise InputError(
                "--init with --folds needs exactly one --fold and --cv-only (each fold starts from its own weights)"
            )
        config = replace(config, init_weights=str(args.init))
    run_training(
        data,
        Path(args.output),
        config,
        folds=args.folds,
        name=args.name,
        version=args.version,
        limit_cases=2 if args.smoke else None,
        only_folds=args.fold,
        cv_only=args.cv_only,
        log=lambda m: print(m, flush=True),
    )
    return 0


def _features(text: str) -> tuple:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 6 or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"'{text}': six positive integers separated by commas, e.g. 16,16,32,64,128,16"
        )
    return values
