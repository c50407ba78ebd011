"""Disc, vertebral-body and canal measurements in physical space (definitions: docs/measurements.md).

``measure_segmentation(labels, label_names)`` -> :class:`MeasurementResult`; writers
``write_disc_csv``, ``write_vertebra_csv``, ``write_json``. Positions are LPS mm internally; measured
lines are reported in RAS mm.

``measure_segmentation`` is imported on first use: the engine needs scipy.ndimage (0.25 s to import), which the
result types and writers do not (a batch's parent process, the report).
"""

from .result import (
    DEFINITIONS,
    DISC_COLUMNS,
    VERTEBRA_COLUMNS,
    MeasuredLine,
    MeasurementResult,
    write_disc_csv,
    write_json,
    write_vertebra_csv,
)

__all__ = [
    "measure_segmentation",
    "MeasurementResult",
    "MeasuredLine",
    "DISC_COLUMNS",
    "VERTEBRA_COLUMNS",
    "DEFINITIONS",
    "write_disc_csv",
    "write_vertebra_csv",
    "write_json",
]


def __getattr__(name):
    if name == "measure_segmentation":
        from .engine import measure_segmentation

        globals()[name] = measure_segmentation  # asked once
        return measure_segmentation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
