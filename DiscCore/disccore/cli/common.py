"""Plumbing shared by the subcommands: progress bar, option helpers."""

from __future__ import annotations

import sys
import time
from typing import Optional


class ProgressBar:
    """A one-line text progress bar on stderr, usable as a ``progress(fraction, message)`` callback.

    Draws in place on a terminal; prints a line per 10 % step otherwise (CI logs stay readable).
    """

    def __init__(self, label: str = "", stream=None, enabled: bool = True):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1
        self._start = time.monotonic()

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._start
        width = 28
        filled = int(round(width * fraction))
        line = f"{self.label}[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% {elapsed:6.1f}s {message}"
        if self._tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if fraction >= 1.0:
                self.stream.write("\n")
        else:
            decile = int(fraction * 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self.stream.write(line + "\n")
        self.stream.flush()


def add_model_options(parser) -> None:
    """--device and --model, shared by every subcommand that runs the model (and by batch.py)."""
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs (default: auto = GPU if present, else CPU)",
    )
    parser.add_argument(
        "--model", default=None, help="model name from 'disccore models' (default: the newest installed)"
    )


def add_series_option(parser) -> None:
    parser.add_argument(
        "--series", default=None, help="DICOM folder with several series: the series number (from 1) or UID"
    )


def series_choice(args):
    """--series as given: a 1-based number or a UID string (None when absent)."""
    return int(args.series) if args.series and args.series.isdigit() else args.series


def add_overwrite(parser) -> None:
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that already exist (refused otherwise)"
    )


def add_quiet(parser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def progress_for(args, label: str = "") -> Optional[ProgressBar]:
    return None if getattr(args, "quiet", False) else ProgressBar(label)
