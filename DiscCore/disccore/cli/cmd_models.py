"""``disccore models``: list installed models and verify their checksums."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  disccore models            # list and verify
  DISCCORE_MODELS_DIR=/opt/disc-models disccore models
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list installed models and verify their sha256 checksums",
        description="List the models found through the manifest (models/manifest.json, or $DISCCORE_MODELS_DIR) "
        "and verify each weight file's sha256. Exit status 1 if any model is missing or corrupt.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ..errors import ModelError
    from ..models import list_models, verify_model

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
    return 1 if bad else 0
