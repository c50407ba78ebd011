"""``disccore adapt --cases DIR -o MODEL_DIR``: fine-tune a model on the user's corrected cases."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_overwrite, add_quiet, progress_for

EXAMPLES = """examples:
  disccore adapt --cases my_cases/ --name site-a                 # into the user models folder, from the shipped model
  disccore adapt --cases my_cases/ -o /data/models/site-a --data ../shared/data --iterations 400 --seed 1
  disccore segment new.nii.gz -o new.seg.nrrd --model site-a     # use it (or --model /data/models/site-a)

my_cases/ holds pairs: NAME.nii.gz (or .nrrd, .mha, ...) with NAME.seg.nrrd (as 3D Slicer saves it), or with
NAME.seg.nii.gz + NAME.seg.json (as 'disccore segment -o NAME.seg.nii.gz' writes). Structures not segmented in a
case are unknown there, not background: a case may correct only the vertebral bodies.
writes MODEL_DIR/model.pt, manifest.json (parent and its sha256, cases with checksums, recipe, validation before /
after on held-out cases) and MODEL_CARD.md; the parent model is never modified.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "adapt",
        help="adapt a model to your scanner from your corrected cases (minutes on a CPU)",
        description="Fine-tune a segmentation model on corrected cases (image + segmentation pairs), with a guard "
        "against forgetting (weights kept near the parent's; public training cases replayed where found). Holds out "
        "a share of the cases (each in turn when there are fewer than five) and reports Dice before and after.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cases", required=True, metavar="DIR", help="folder of image + segmentation pairs")
    p.add_argument(
        "-o",
        "--output",
        metavar="MODEL_DIR",
        help="model folder to write (default: NAME in the user models folder, see 'disccore models')",
    )
    p.add_argument(
        "--from",
        dest="parent",
        metavar="MODEL",
        help="model to start from: a name or a model folder (default: the shipped model)",
    )
    p.add_argument("--name", help="the new model's name (default: the output folder's name)")
    p.add_argument("--iterations", type=int, default=None, help="fine-tuning iterations per training (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--anchor-weight",
        type=float,
        default=None,
        metavar="W",
        help="how strongly the weights are held near the parent's (default 0.01; 0.1 forgets less of what the "
        "parent knew and learns less of your scanner: models/MODEL_CARD.md)",
    )
    p.add_argument(
        "--distill-weight",
        type=float,
        default=None,
        metavar="W",
        help="how strongly the replayed public cases hold the model to the parent's own outlines (default 0: their "
        "labels only; 1 about halves what the kinds the parent knew lose, for less gain on your scanner: "
        "models/MODEL_CARD.md)",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="the public training data (with ivd/, vb2/, vb3/): some of its cases are replayed so the model keeps "
        "what it knew (default: $DISCCORE_PUBLIC_DATA, else ../shared/data when it is there)",
    )
    p.add_argument("--no-replay", action="store_true", help="replay no public cases, even where they are found")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    add_overwrite(p)
    add_quiet(p)
    p.set_defaults(func=run)


def adapt_config(args):
    """The recipe: :class:`AdaptConfig`'s defaults with what the command line set."""
    from dataclasses import replace

    from ..training.adapt import AdaptConfig

    given = {"iterations": args.iterations, "anchor_weight": args.anchor_weight, "distill_weight": args.distill_weight}
    set_here = {k: v for k, v in given.items() if v is not None}
    return replace(AdaptConfig(seed=args.seed, threads=args.threads), **set_here)


def run(args) -> int:
    from ..errors import InputError
    from ..models import user_models_dir
    from ..training.adapt import adapt, public_data_folder
    from ..training.model_folder import check_model_folder, write_model_folder
    from ..training.user_cases import find_user_cases

    if not args.output and not args.name:
        raise InputError("give the new model a name (--name) or a folder (-o MODEL_DIR)")
    if args.iterations is not None and args.iterations < 1:
        raise InputError("--iterations must be at least 1")
    for option, value in (("--anchor-weight", args.anchor_weight), ("--distill-weight", args.distill_weight)):
        if value is not None and value < 0:
            raise InputError(f"{option} must not be negative")
    if args.data and not Path(args.data).is_dir():
        raise InputError(f"--data '{args.data}' is not a folder; give the public training data (with ivd/, vb2/, vb3/)")
    out = Path(args.output) if args.output else user_models_dir() / args.name
    if not args.output:
        out.parent.mkdir(parents=True, exist_ok=True)
    check_model_folder(out, args.overwrite)  # before minutes of work
    find_user_cases(args.cases)
    config = adapt_config(args)
    quiet = args.quiet
    data = None if args.no_replay else public_data_folder(args.data)
    if data is None and not args.no_replay and not quiet:
        print("no public training data found (--data, DISCCORE_PUBLIC_DATA, ../shared/data): adapting without replay")
    result = adapt(
        args.cases,
        args.parent,
        config,
        data=data,
        progress=progress_for(args, "adapt "),
        log=(lambda m: None) if quiet else print,
    )
    folder = write_model_folder(result, out, args.name or out.name, overwrite=args.overwrite)
    summary = result.validation.get("summary", {})
    for kind in summary.get("before", {}):
        print(f"{kind}: Dice {summary['before'][kind]:.3f} -> {summary['after'][kind]:.3f} on held-out cases")
    print(f"wrote {folder}")
    return 0
