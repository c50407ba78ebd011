"""``disccore models``: list installed models and verify their checksums."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  disccore models            # list and verify
  DISCCORE_MODELS_DIR=/opt/disc-models disccore models
  DISCCORE_USER_MODELS_DIR=~/site-models disccore models
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list installed models and verify their sha256 checksums",
        description="List the shipped models (models/manifest.json, or $DISCCORE_MODELS_DIR) and your adapted ones "
        "(the user models folder, or $DISCCORE_USER_MODELS_DIR) and verify each weight file's sha256. Exit status 1 "
        "if any model is missing or corrupt.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ..errors import ModelError
    from ..models import list_models, user_models_dir, verify_model

    try:
        models = list_models()
    except ModelError as exc:  # the README's table: 'disccore models' exits 1 for a missing or corrupt model
        print(f"disccore models: error: {exc}", file=sys.stderr)
        return 1
    if not models:
        print("no models installed (looked in $DISCCORE_MODELS_DIR and the models/ folder)")
        return 1
    bad = 0
    for info in models:
        ok = verify_model(info)
        bad += not ok
        state = "ok" if ok else "CHECKSUM MISMATCH OR MISSING"
        print(f"{info.name}  v{info.version}  [{state}]  {info.path}")
        if info.description:
            print(f"    {info.description}")
        if info.user:
            print("    " + lineage(info))
    print(f"user models folder: {user_models_dir()}")
    return 1 if bad else 0


def lineage(info) -> str:
    """Parent, date and validation of an adapted model, on one line."""
    parent = info.entry.get("parent", {})
    adapted = info.entry.get("adapted", {})
    text = f"adapted from {parent.get('name', '?')} {parent.get('version', '')} on {adapted.get('date', '?')}"
    summary = adapted.get("validation", {}).get("summary", {})
    scores = [
        f"{k} {summary['before'][k]:.3f} -> {summary['after'].get(k, float('nan')):.3f}"
        for k in summary.get("before", {})
    ]
    return text + (f"; held-out Dice {', '.join(scores)}" if scores else "; not validated (one case)")
