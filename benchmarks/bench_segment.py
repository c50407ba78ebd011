"""Benchmark `disccore segment` and `disccore run` end to end (process start, model load, inference, writing),
on the 224 x 224 x 77 series and on issue 21's grids, beside the nnU-Net-like reference in the same run.

For each input and command: the median wall time and the largest peak resident memory over ``--runs`` runs.
Inputs: the 224 x 224 x 77 series (a MyoSegmenTUM case from ../shared/data when present, else a synthetic phantom
of that size) and one real T2 case (ivd) resampled to each of ``--grids`` (issue 21's table: 491x491x17 at
0.45 x 0.45 x 4 mm, 221x221x67 at 1 mm, 442x442x134 at 0.5 mm, 512x512x200 float32). The reference network
(bench_reference_nnunet.py) runs on the 224 x 224 x 77 series, so the ratio is measured, not remembered.
Targets (issues 18, 21): segment <= 3.0 s and run <= 4.0 s on 224 x 224 x 77 with <= 1 GB; 442x442x134 <= 8 s,
<= 1.2 GB; 512x512x200 <= 15 s, <= 1.5 GB.

    python benchmarks/bench_segment.py [--runs 5] [--device cpu] [--backend auto|onnx|torch]
                                       [--commands segment,run] [--grids all|none|WxHxD,...]
                                       [--reference-runs 1] [--json results.json] [--series IMAGE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe_machine, machine_line

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DISCCORE_SHARED_DATA", REPO.parent / "shared" / "data"))  # as the tests find it
SERIES = SHARED / "vb3" / "vb3-001_img.nii.gz"
GRID_SOURCE = SHARED / "ivd" / "ivd-011_t2.nii.gz"
GRIDS = {"491x491x17": None, "221x221x67": None, "442x442x134": None, "512x512x200": "float32"}  # -> pixel type


def make_series(folder: Path, given=None) -> Path:
    if given:
        return Path(given)
    if SERIES.exists():
        return SERIES
    sys.path.insert(0, str(REPO / "DiscCore"))
    from disccore.io import write_image
    from disccore.phantom import make_lumbar_phantom

    ph = make_lumbar_phantom(seed=0, spacing=(1.0, 1.0, 1.0), fov=(224.0, 224.0, 77.0))
    return write_image(ph.image, folder / "phantom.nii.gz")


def make_grid(folder: Path, size_text: str, pixel_type) -> Path:
    """The grid source resampled (linear) to ``size_text`` voxels over the same extent."""
    import SimpleITK as sitk

    src = sitk.ReadImage(str(GRID_SOURCE))
    size = [int(n) for n in size_text.split("x")]
    spacing = [n * s / m for n, s, m in zip(src.GetSize(), src.GetSpacing(), size)]
    origin = src.TransformContinuousIndexToPhysicalPoint([0.5 * s / o - 0.5 for s, o in zip(spacing, src.GetSpacing())])
    out_type = sitk.sitkFloat32 if pixel_type == "float32" else src.GetPixelID()
    image = sitk.Resample(
        src, size, sitk.Transform(), sitk.sitkLinear, origin, spacing, src.GetDirection(), 0.0, out_type
    )
    path = folder / f"grid_{size_text}.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


# Runs a Python command (``-m module ...`` or ``script ...``) and writes its own peak RSS (VmHWM) to a file at exit.
# Not ru_maxrss from wait4: Linux keeps ru_maxrss across fork and exec, so a child would report at least this
# benchmark's own size when it was started.
PEAK_WRAPPER = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def _write_peak():
    with open(peak_file, "w") as f:
        f.write(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
atexit.register(_write_peak)
if sys.argv[1] == "-m":
    sys.argv = [sys.argv[2]] + sys.argv[3:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def timed(cmd: list, env: dict) -> tuple[float, float]:
    """(wall s, peak RSS MB) of one Python child process (``cmd[0]`` is the interpreter)."""
    with tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        start = time.perf_counter()
        proc = subprocess.run(
            [cmd[0], "-c", PEAK_WRAPPER, peak.name] + cmd[1:],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:4])} failed: {proc.stderr.decode()[-2000:]}")
        return wall, int(Path(peak.name).read_text()) / 1024.0  # kB -> MB


def disccore_command(command: str, image: Path, out: Path, device: str) -> list:
    target = out / "out.seg.nrrd" if command == "segment" else out / "run"
    return [
        sys.executable,
        "-m",
        "disccore",
        command,
        str(image),
        "-o",
        str(target),
        "--device",
        device,
        "-q",
        "--overwrite",
    ]


def measure(label: str, cmd: list, env: dict, runs: int) -> dict:
    results = [timed(cmd, env) for _ in range(runs)]
    walls = [w for w, _ in results]
    row = {
        "what": label,
        "runs": runs,
        "median_wall_s": statistics.median(walls),
        "walls_s": walls,
        "peak_rss_mb": max(m for _, m in results),
    }
    print(
        f"{label:<44} median {row['median_wall_s']:7.2f} s   peak {row['peak_rss_mb']:6.0f} MB   "
        f"({', '.join(f'{w:.2f}' for w in walls)})",
        flush=True,
    )
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--series", help="another series than the 224 x 224 x 77 one (e.g. a small one for a smoke run)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"))
    ap.add_argument("--commands", default="segment,run")
    ap.add_argument("--grids", default="all", help="all, none, or sizes such as 221x221x67,491x491x17")
    ap.add_argument("--reference-runs", type=int, default=1, help="runs of the nnU-Net-like reference (0: skip)")
    ap.add_argument("--reference-patch", default="64x128x128")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO / "DiscCore"))
    if args.backend != "auto":
        env["DISCCORE_BACKEND"] = args.backend
    grids = list(GRIDS) if args.grids == "all" else [] if args.grids == "none" else args.grids.split(",")
    machine = describe_machine()
    print(machine_line(machine), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        series = f"series {Path(args.series).name}" if args.series else "224x224x77 series"
        inputs = {series: make_series(tmp, args.series)}
        if grids and not GRID_SOURCE.exists():
            print(f"grids skipped: {GRID_SOURCE} not found")
        elif grids:
            inputs.update({f"grid {g}": make_grid(tmp, g, GRIDS.get(g)) for g in grids})
        for name, image in inputs.items():
            for command in args.commands.split(","):
                rows.append(
                    measure(f"{command} {name}", disccore_command(command, image, tmp, args.device), env, args.runs)
                )
        if args.reference_runs:
            cmd = [
                sys.executable,
                str(REPO / "benchmarks" / "bench_reference_nnunet.py"),
                str(inputs[series]),
                "--patch",
                args.reference_patch,
            ]
            ref = measure(f"nnU-Net-like reference {args.reference_patch}", cmd, env, args.reference_runs)
            rows.append(ref)
            ours = next((r for r in rows if r["what"] == f"segment {series}"), None)
            if ours:
                print(f"reference / segment wall time: {ref['median_wall_s'] / ours['median_wall_s']:.1f}x")
    if args.json:
        stored = {"device": args.device, "backend": args.backend, "machine": machine, "rows": rows}
        Path(args.json).write_text(json.dumps(stored, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
