"""Whether a case needs review, and why, from its measurements (a :class:`disccore.measure.MeasurementResult`'s
``to_dict()``, or the case's JSON read back): any flag on the case or on one of its levels."""

from __future__ import annotations

NEEDS_REVIEW = {True: "yes", False: "no"}  # the summary's ``needs_review`` cell


def review_reasons(measurements: dict) -> list[str]:
    """The case's flags, then each level's own ("L4-L5: low confidence 0.61"); empty when nothing was flagged."""
    qc = measurements.get("qc") or {}
    case = list(qc.get("case") or [])
    levels = [f"{level}: {flag}" for level, flags in (qc.get("levels") or {}).items() for flag in flags]
    return case + levels


def review_line(case: str, reasons: list, max_reasons: int = 3) -> str:
    """One console line for a case that needs review: its first reasons and how many more."""
    shown = "; ".join(reasons[:max_reasons])
    more = f" (+{len(reasons) - max_reasons} more)" if len(reasons) > max_reasons else ""
    return f"{case} needs review: {shown}{more}"


def review_warning(reasons: list) -> str:
    """The one-line warning of the report picture and the Slicer panels ("" when nothing was flagged)."""
    if not reasons:
        return ""
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return f"Needs review: {reasons[0]}{more}; see the qc column"
