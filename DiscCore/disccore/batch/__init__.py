"""Many cases at once: ``disccore batch`` and Slicer's batch.py.

- :mod:`.inputs` expands the inputs into cases; :mod:`.cases` runs one case as a task that cannot raise;
- :mod:`.local` runs tasks here or in worker processes, :mod:`.cluster` on a Dask cluster;
- :mod:`.summary` keeps ``summary.csv`` / ``all_levels.csv`` current; :mod:`.loop` ties them together.
"""

from .cases import CaseTask, ResumedResult
from .inputs import find_inputs
from .loop import run_batch
from .summary import LEVELS_NAME, SUMMARY_NAME, levels_csv_text, summary_csv_text

__all__ = [
    "CaseTask",
    "LEVELS_NAME",
    "ResumedResult",
    "SUMMARY_NAME",
    "find_inputs",
    "levels_csv_text",
    "run_batch",
    "summary_csv_text",
]
