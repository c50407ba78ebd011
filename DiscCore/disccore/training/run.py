"""One command from data to shipped model: prepare cases, cross-validate by subject, train on all, export."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from functools import cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..quality.thresholds import THRESHOLDS
from ..segment.export import ONNX_FILE, add_onnx_export
from ..segment.postprocessing import PostProcessing
from .data import list_cases, prepare_case, synthetic_cases
from .train import TrainConfig, disc_margin_in_cycle, evaluate_case, export_model, folds_by_subject, train_cycles


def cross_validate(
    cases,
    prepared,
    config: TrainConfig,
    folds: int,
    log: Callable = print,
    only_folds=None,
    synthetic_for: Callable = lambda cycle: [],
    save_dir=None,
) -> dict:
    """Dice per held-out case and structure, training one model per fold (each subject held out once);
    the synthetic phantoms of each cycle are in every fold's training set."""
    fold_of = folds_by_subject(cases, folds)
    results = {}
    for f in range(folds):
        if only_folds is not None and f not in only_folds:
            continue
        train = [p for p, k in zip(prepared, fold_of) if k != f]
        t0 = time.monotonic()
        net = train_cycles(
            train, synthetic_for, replace(config, seed=config.seed + f), log=lambda m, f=f: log(f"fold {f}: {m}")
        )
        log(f"fold {f}: trained in {time.monotonic() - t0:.0f} s")
        if save_dir is not None:
            import torch

            torch.save(net.state_dict(), Path(save_dir) / f"fold{f}.pt")
        for c, k in zip(cases, fold_of):
            if k == f:
                results[c.name] = {"dataset": c.dataset, "fold": f, "dice": evaluate_case(net, c, config)}
                log(f"fold {f}: {c.name} " + " ".join(f"{n}={d:.3f}" for n, d in results[c.name]["dice"].items()))
    return results


def summarise(results: dict) -> dict:
    """Mean (and n) Dice per structure, and per kind (disc / vertebral body)."""
    per = {}
    for r in results.values():  # "any level" entries score the segmentation regardless of level names
        for name, d in r["dice"].items():
            per.setdefault(name, []).append(d)
    out = {n: {"mean": float(np.nanmean(v)), "n": len(v)} for n, v in sorted(per.items())}
    discs = [d for n, v in per.items() if "-" in n and not n.startswith("any") for d in v]
    bodies = [d for n, v in per.items() if "-" not in n and not n.startswith("any") for d in v]
    out["all discs"] = {"mean": float(np.nanmean(discs)) if discs else None, "n": len(discs)}
    out["all vertebral bodies"] = {"mean": float(np.nanmean(bodies)) if bodies else None, "n": len(bodies)}
    return out


def run_training(
    data_root,
    out_dir,
    config: TrainConfig,
    folds: int = 0,
    name: str = "disc-unet2d",
    version: str = "1.0.0",
    limit_cases: Optional[int] = None,
    only_folds=None,
    cv_only: bool = False,
    log: Callable = print,
) -> Optional[Path]:
    """Prepare, (optionally) cross-validate, train on everything and export into ``out_dir``."""
    cases = list_cases(data_root)
    if limit_cases:
        by_ds = {}
        for c in cases:
            by_ds.setdefault(c.dataset, []).append(c)
        cases = [c for v in by_ds.values() for c in v[:limit_cases]]
    if not cases:
        raise FileNotFoundError(f"no training cases found under {data_root}")
    t0 = time.monotonic()
    prepared = [prepare_case(c, sac_label=config.sac_label) for c in cases]
    log(f"prepared {len(cases)} cases in {time.monotonic() - t0:.0f} s")

    @cache
    def synthetic_for(cycle: int) -> list:  # each cycle its own phantoms (seed + cycle), shared by all folds
        if not config.synthetic_cases:
            return []
        margin = disc_margin_in_cycle(config, cycle)
        return synthetic_cases(config.synthetic_cases, config.seed + cycle, margin, config.sac_label)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = {"training_cases": {ds: sum(c.dataset == ds for c in cases) for ds in ("ivd", "vb2", "vb3")}}
    extra["training_cases"]["synthetic phantoms"] = config.synthetic_cases
    extra["postprocessing"] = asdict(PostProcessing())  # the defaults; tune them on the held-out predictions
    extra["quality_thresholds"] = THRESHOLDS.for_manifest()  # the same (benchmarks/qc_calibration.py)
    if folds > 1:
        results = cross_validate(cases, prepared, config, folds, log, only_folds, synthetic_for, save_dir=out_dir)
        summary = summarise(results)
        report = {
            "folds": folds,
            "only_folds": only_folds,
            "iterations": config.iterations,
            "cycles": config.cycles,
            "cycle_iterations": config.cycle_iterations,
            "summary": summary,
            "cases": results,
        }
        (out_dir / "cross_validation.json").write_text(json.dumps(report, indent=1))
        extra["cross_validation"] = summary
        if cv_only:
            return None
    t1 = time.monotonic()
    net = train_cycles(prepared, synthetic_for, config, log=lambda m: log(f"final: {m}"))
    extra["training_seconds"] = round(time.monotonic() - t1)
    weights = export_model(net, out_dir, config, name, version, extra)
    _export_onnx_beside(out_dir)
    log(f"wrote {weights} and {ONNX_FILE}")
    return weights


def _export_onnx_beside(out_dir: Path) -> None:
    """The ONNX export (CPU inference without torch) beside the weights, recorded in entry.json with its sha256."""
    entry_path = out_dir / "entry.json"
    entry = json.loads(entry_path.read_text())  # its "file" is relative to the folder above (the manifest's)
    entry_path.write_text(json.dumps(add_onnx_export(entry, out_dir.parent), indent=1))
