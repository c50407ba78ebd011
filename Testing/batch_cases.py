"""A stand-in case function for batch tests: fast, picklable, and told how to misbehave by the case name.

``fake_case(path, outdir, case=..., progress=..., **options)`` writes the five outputs of a case (small texts;
the JSON holds the disc rows, as disccore's does) and logs each call as ``case pid`` to ``BATCH_CALLS_LOG``.
Case names starting with ``bad`` raise an InputError, ``crash`` end their process at once, ``slow`` sleep
``BATCH_SLOW_S`` seconds on their first call, in the middle of writing an output (their pid goes to
``BATCH_SLOW_PID``), ``bug`` raise a ValueError, ``flagged`` carry a quality flag (in their JSON too).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from disccore.errors import InputError
from disccore.outputs import atomic_output, check_output_path, write_text_atomic
from disccore.pipeline import CaseOutputs, CaseResult

FLAG = "L5 not recognised: names counted from the lowest body"


def disc_rows(case: str) -> list:
    """Numbers that depend on the case, with more digits than the CSVs keep (the summary rounds them alike)."""
    base = sum(map(ord, case)) % 7
    return [
        {
            "level": "L4-L5",
            "disc_height_mm": 8.0 + base + 0.123456789,
            "disc_volume_mm3": 1000.0 * base + 0.5555,
            "canal_ap_diameter_mm": 12.3456789,
        }
    ]


def _log_call(case: str) -> int:
    log = os.environ.get("BATCH_CALLS_LOG")
    calls = 0
    if log:
        if Path(log).exists():
            calls = sum(1 for line in Path(log).read_text().splitlines() if line.split()[0] == case)
        with open(log, "a") as f:
            f.write(f"{case} {os.getpid()}\n")
    return calls


def fake_case(path, outdir, *, case, progress=None, model=None, device="auto", overwrite=False):
    start = time.monotonic()
    earlier_calls = _log_call(case)
    if case.startswith("bad"):
        raise InputError(f"'{path}' could not be read (stand-in)")
    if case.startswith("bug"):
        raise ValueError("a bug in the stand-in")
    if case.startswith("crash"):
        os._exit(3)
    outputs = CaseOutputs.for_case(Path(outdir), case)
    if case.startswith("slow") and earlier_calls == 0:
        with atomic_output(outputs.segmentation, overwrite) as tmp:  # stopped while writing its first output
            tmp.write_text("half")
            Path(os.environ["BATCH_SLOW_PID"]).write_text(str(os.getpid()))
            time.sleep(float(os.environ.get("BATCH_SLOW_S", "60")))
    for p in outputs.all():
        check_output_path(p, overwrite)
    rows = disc_rows(case)
    qc = {"case": [FLAG] if case.startswith("flagged") else [], "levels": {}}
    for p in outputs.all():
        text = json.dumps({"discs": rows, "qc": qc}) if p == outputs.json else f"{p.name} from {Path(path).name}\n"
        write_text_atomic(p, text, overwrite=overwrite)
    return CaseResult(
        case=case,
        input=Path(path),
        ok=True,
        seconds=time.monotonic() - start,
        outputs=outputs,
        disc_rows=rows,
        review=list(qc["case"]),
    )


def calls(log: Path) -> list:
    """The logged calls as (case, pid) pairs."""
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []
