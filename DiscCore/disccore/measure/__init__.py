"""Disc, vertebral-body and canal measurements in physical space (definitions: docs/measurements.md).

``measure_segmentation(labels, label_names)`` -> :class:`MeasurementResult`; writers
``write_disc_csv``, ``write_vertebra_csv``, ``write_json``. Positions are LPS mm internally; measured
lines are reported in RAS mm.
"""

from .engine import measure_segmentation
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
