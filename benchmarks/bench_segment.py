"""Benchmark `disccore segment` end to end (process start, model load, inference, writing).

Prints the median wall time and the peak resident memory over several runs on a 224 x 224 x 77 volume
(a MyoSegmenTUM case from ../shared/data when present, else a synthetic phantom of that size).
Targets (issue 4): <= 10 s wall on a 2-core CPU including model load, <= 3 GB peak memory.

    python benchmarks/bench_segment.py [--runs 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "vb3" / "vb3-001_img.nii.gz"


def make_input(folder: Path) -> Path:
    if SHARED.exists():
        return SHARED
    sys.path.insert(0, str(REPO / "DiscCore"))
    from disccore.io import write_image
    from disccore.phantom import make_lumbar_phantom

    ph = make_lumbar_phantom(seed=0, spacing=(1.0, 1.0, 1.0), fov=(224.0, 224.0, 77.0))
    return write_image(ph.image, folder / "phantom.nii.gz")


def run_once(image: Path, out: Path, device: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "DiscCore"))
    cmd = [sys.executable, "-m", "disccore", "segment", str(image), "-o", str(out), "--device", device, "-q", "--overwrite"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"segment failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024.0  # kB -> MB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        image = make_input(Path(tmp))
        print(f"input: {image}")
        results = [run_once(image, Path(tmp) / "out.seg.nrrd", args.device) for _ in range(args.runs)]
    walls = [w for w, _ in results]
    peaks = [m for _, m in results]
    print("wall s per run: " + ", ".join(f"{w:.2f}" for w in walls))
    print(f"median wall: {statistics.median(walls):.2f} s (target <= 10 s); peak memory: {max(peaks):.0f} MB (target <= 3072 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
