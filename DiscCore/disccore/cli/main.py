"""Entry point of the ``disccore`` command (also ``python -m disccore``).

Each subcommand lives in its own module exposing ``add_parser(subparsers)``, which registers the
parser and sets ``func(args) -> int``. Expected failures (DiscCoreError) print one line and exit
with the error's code; anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import Optional

from .. import __version__
from ..errors import DiscCoreError

SUBCOMMANDS = ("segment", "measure", "run", "batch", "models", "train", "adapt")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="disccore",
        description="Segment lumbar spine MRI (vertebral bodies, intervertebral discs, spinal canal) and measure "
        "disc height, disc volume and canal AP diameter per level.",
        epilog="Run 'disccore SUBCOMMAND --help' for the options and examples of each subcommand.",
    )
    parser.add_argument("--version", action="version", version=f"disccore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__package__}.cmd_{name}").add_parser(sub)
    return parser


def _one_line_warning(command: str):
    """Show a library warning as one line on stderr (not Python's 'file:line: UserWarning' form)."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"disccore {command}: warning: {message}", file=sys.stderr)

    return show


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return int(args.func(args) or 0)
    except DiscCoreError as exc:
        print(f"disccore {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"disccore {args.command}: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
