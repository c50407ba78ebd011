"""Progress reporting and cancellation for long work.

Long functions take ``progress: ProgressCallback | None``; they call ``progress(fraction, message)``
with fraction in [0, 1]. A callback may raise ``Cancelled`` to stop the work; nothing partial is
written when that happens (outputs are written atomically at the end).
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressCallback = Callable[[float, str], None]


def report(progress: Optional[ProgressCallback], fraction: float, message: str) -> None:
    """Call ``progress`` if given, clamping fraction to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def sub_progress(progress: Optional[ProgressCallback], start: float, end: float) -> Optional[ProgressCallback]:
    """A callback mapping [0, 1] of a sub-task onto [start, end] of the parent's progress."""
    if progress is None:
        return None

    def _sub(fraction: float, message: str) -> None:
        report(progress, start + (end - start) * min(1.0, max(0.0, fraction)), message)

    return _sub
