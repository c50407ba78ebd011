"""Speed of disccore.measure on one full case: 5 discs, 6 vertebral bodies and a canal, 512 x 512 x 15 grid.

The case is an analytic phantom (Testing/phantoms_analytic.py): sagittal 0.5 x 0.5 mm in-plane, 4 mm
slices, lordotic-ish tilt, oblique direction. Prints the median (and min/max) of several runs.

    PYTHONPATH=DiscCore python benchmarks/bench_measure.py [--runs 7] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "DiscCore"), str(ROOT / "Testing")]

from phantoms_analytic import DiscSpec, StackSpec, build_stack, make_geometry  # noqa: E402

from disccore.measure import measure_segmentation  # noqa: E402


def build_case():
    discs = [DiscSpec(8.5, 0.04), DiscSpec(9.5, 0.06), DiscSpec(10.5, 0.08), DiscSpec(11.5, 0.12), DiscSpec(10.5, 0.18)]
    spec = StackSpec(
        discs=discs,
        tilt_deg=14.0,
        first_vertebra="L1",
        vertebra_height=25.0,
        disc_ap_semi=19.0,
        disc_lr_semi=23.0,
        canal_ap=14.0,
    )
    # native-like sagittal layout: i -> P (0.5 mm), j -> I (0.5 mm), k -> R (4 mm): size 512 x 512 x 15
    geom = make_geometry((4.0, 0.5, 0.5), "native", oblique_deg=3.0, size=(512, 512, 15), phase=(0.0, 0.0, 0.3))
    return build_stack(spec, geom)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    args = ap.parse_args(argv)
    labels, names, truth = build_case()
    counts = {names[v]: int((labels.array == v).sum()) for v in names}
    print(
        f"grid {labels.geometry.size}, spacing {tuple(float(s) for s in labels.geometry.spacing)} mm; "
        f"structures: {', '.join(f'{k}' for k, n in counts.items() if n)}"
    )
    result = measure_segmentation(labels, names)  # warm-up (imports, caches)
    assert len(result.discs) == 5 and len(result.vertebrae) == 6, (result.discs, result.vertebrae)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        measure_segmentation(labels, names)
        times.append(time.perf_counter() - t0)
    print(
        f"measure_segmentation: median {statistics.median(times):.3f} s over {args.runs} runs "
        f"(min {min(times):.3f}, max {max(times):.3f})"
    )
    for row in result.discs:
        t = truth["discs"][row["level"]]
        print(
            f"  {row['level']}: height {row['disc_height_mm']:.2f} (truth {t['disc_height_mm']:.2f}) "
            f"ant {row['disc_height_anterior_mm']:.2f} ({t['disc_height_anterior_mm']:.2f}) "
            f"post {row['disc_height_posterior_mm']:.2f} ({t['disc_height_posterior_mm']:.2f}) "
            f"canal AP {row['canal_ap_diameter_mm']:.2f} ({t['canal_ap_diameter_mm']:.2f}) "
            f"area {row['canal_area_mm2']:.0f} ({t['canal_area_mm2']:.0f}) DHI {row['disc_height_index']:.3f}"
        )
    if args.profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        measure_segmentation(labels, names)
        pr.disable()
        pstats.Stats(pr).sort_stats("cumulative").print_stats(18)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
