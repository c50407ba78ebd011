"""Benchmark `disccore batch` with 1 and with 2 worker processes: cases per hour, median of several runs.

The cases are copies of the bundled sample (Resources/Samples/synthetic_lumbar_t2.nii.gz). Each run is a fresh
`disccore batch` process (process start and model loads included) into an empty output folder.
Target (issue 18): 2 workers >= 1.5x the cases per hour of 1 worker on a 2-core CPU.

    python benchmarks/bench_batch.py [--cases 8] [--runs 3] [--workers 1 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe_machine, machine_line

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"


def make_cases(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        shutil.copy(SAMPLE, folder / f"case{i:03d}.nii.gz")
    return folder


def run_once(inputs: Path, out: Path, workers: int, device: str) -> float:
    """Wall seconds of one batch run."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "DiscCore"))
    cmd = [
        sys.executable,
        "-m",
        "disccore",
        "batch",
        str(inputs),
        "-o",
        str(out),
        "-q",
        "--device",
        device,
        "--workers",
        str(workers),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"batch failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    per_hour = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_cases(Path(tmp) / "in", args.cases)
        walls = {workers: [] for workers in args.workers}
        for r in range(args.runs):  # interleaved, so a slow spell of the machine does not fall on one setting only
            for workers in args.workers:
                walls[workers].append(run_once(inputs, Path(tmp) / f"out-{workers}-{r}", workers, args.device))
        for workers, runs in walls.items():
            per_hour[workers] = 3600.0 * args.cases / statistics.median(runs)
            print(
                f"{workers} worker(s): wall s per run {', '.join(f'{w:.1f}' for w in runs)}; "
                f"median {statistics.median(runs):.1f} s = {per_hour[workers]:.0f} cases per hour"
            )
    if 1 in per_hour:
        for workers, rate in per_hour.items():
            if workers != 1:
                print(f"{workers} workers / 1 worker: {rate / per_hour[1]:.2f}x (target >= 1.5x for 2 workers)")
    print(f"{args.cases} cases, {args.runs} run(s) each, {os.cpu_count()} CPU cores")
    print(machine_line(describe_machine()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
