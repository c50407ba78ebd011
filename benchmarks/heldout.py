"""The real images a benchmark scores: the held-out images of one cross-validation fold (to score that fold's model)
or every image of one dataset (to score a model trained without it), optionally given another scanner's look; and how
a benchmark shows and saves its rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "DiscCore"))


def add_heldout_arguments(parser) -> None:
    parser.add_argument("--data", required=True)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument(
        "--dataset", help="every image of this dataset (ivd, vb3, vb2) instead of a fold (a model trained without it)"
    )
    parser.add_argument("--cases", type=int, default=0, help="at most this many images (default: all held-out)")
    parser.add_argument("-o", "--output", help="write every row and the summary as JSON")


def add_sac_label_argument(parser) -> None:
    from disccore.training.sac_rules import DEFAULT_SAC_LABEL, SAC_LABEL_RULES

    parser.add_argument(
        "--sac-label",
        choices=sorted(SAC_LABEL_RULES),
        default=DEFAULT_SAC_LABEL,
        help="the rule the sac's training label is derived by, the one the measured model learned "
        "(default: %(default)s)",
    )


def held_out_cases(args):
    """The cases of fold ``args.fold`` of ``args.folds`` (by subject, as `disccore train --folds`), or of dataset
    ``args.dataset`` when given, at most ``args.cases``; every case when ``args.folds`` is 1."""
    from disccore.training.data import list_cases
    from disccore.training.train import folds_by_subject

    cases = list_cases(args.data)
    if getattr(args, "dataset", None):
        cases = [c for c in cases if c.dataset == args.dataset]
        if not cases:
            raise SystemExit(f"no images of dataset '{args.dataset}' in {args.data}")
    elif args.folds > 1:
        cases = [c for c, f in zip(cases, folds_by_subject(cases, args.folds)) if f == args.fold]
    return cases[: args.cases] if args.cases else cases


def score_cases(cases, score_case, show, summarise, output=None) -> tuple[list, dict]:
    """(rows, summary): ``score_case(case)`` -> rows for each case, one line per case (``show(rows)``), then the
    summary printed as JSON and, with ``output``, every row and the summary written there."""
    rows = []
    for case in cases:
        case_rows = score_case(case)
        rows += case_rows
        print(f"{case.name}: {show(case_rows)}", flush=True)
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    save_rows(output, summary, rows)
    return rows, summary


def add_look_arguments(ap) -> None:
    ap.add_argument("--look", choices=("none", "t1"), default="none", help="another scanner's look (t1: T1-like)")
    ap.add_argument("--seed", type=int, default=0, help="the look's bias field and noise")


def with_look(image, args, i: int):
    """The ``i``-th image (a SpatialImage) with the look ``args.look`` (its own seed), or as it is."""
    if args.look == "none":
        return image
    from adapt_new_scanner import new_look

    from disccore.image import SpatialImage

    return SpatialImage(new_look(image.array, args.look, args.seed + i), image.geometry)


def show_and_save(lines: list[dict], rows: list[dict], output) -> None:
    """The summary lines printed as JSON, and with ``output`` every row and the summary written there."""
    for line in lines:
        print(json.dumps(line))
    save_rows(output, lines, rows)


def save_rows(output, summary, rows: list[dict]) -> None:
    """With ``output`` (a path, or None for no file), every row and the summary written there as JSON."""
    if output:
        Path(output).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
