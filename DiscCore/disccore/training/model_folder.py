"""Write an adapted model as a self-contained model folder: weights and their ONNX export, manifest (one entry)
and a short model card.

The folder is written beside its destination under a temporary name and renamed into place at the end, so a
failed or cancelled adaptation leaves no half-written model; the parent model's files are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from ..errors import OutputError
from ..models import MANIFEST_NAME, model_dirs, sha256_of
from ..segment.export import add_onnx_export
from .user_cases import user_case_checksums

WEIGHTS_NAME = "model.pt"
CARD_NAME = "MODEL_CARD.md"
# What an adapted model takes over from its parent's manifest entry: what inference needs to run it as the parent
# runs (the rest, e.g. the parent's training record and files, describes the parent only).
INHERITED_KEYS = (
    "classes",
    "input_spacing_mm",
    "network",
    "postprocessing",
    "quality_thresholds",
    "license",
    "licence",
)


def check_model_folder(out_dir, overwrite: bool) -> Path:
    """Refuse, before any work, an output that exists without ``overwrite``, lies in a shipped models folder, or
    whose parent folder does not exist."""
    out = Path(out_dir).expanduser().resolve()
    for shipped in model_dirs():
        shipped = shipped.resolve()
        if out == shipped or shipped in out.parents:
            raise OutputError(
                f"'{out_dir}' lies inside the shipped models folder {shipped}; choose another folder "
                "(the shipped models are never modified)"
            )
    if not out.parent.is_dir():
        raise OutputError(f"the folder '{out.parent}' does not exist; create it first")
    if out.exists() and not overwrite:
        raise OutputError(f"'{out_dir}' already exists; choose another folder or pass --overwrite to replace it")
    if out.exists() and not (out / MANIFEST_NAME).is_file():
        raise OutputError(f"'{out_dir}' exists and is not a model folder; it is not replaced, choose another folder")
    return out


def manifest_entry(adaptation, name: str, version: str, weights: Path) -> dict:
    """The adapted model's manifest entry: the parent's (architecture, classes, post-processing) plus its lineage,
    the cases with their checksums, the recipe and the validation."""
    parent = adaptation.parent
    entry = {k: v for k, v in parent.entry.items() if k in INHERITED_KEYS}
    entry.update(
        {
            "name": name,
            "version": version,
            "file": WEIGHTS_NAME,
            "sha256": sha256_of(weights),
            "description": f"{parent.name} {parent.version} adapted to {len(adaptation.cases)} user cases",
            "parent": {"name": parent.name, "version": parent.version, "sha256": parent.sha256_expected},
            "adapted": {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "cases": {c.name: user_case_checksums(c) for c in adaptation.cases},
                "recipe": asdict(adaptation.config),
                "replayed": list(adaptation.replayed),
                "seconds": round(adaptation.seconds),
                "validation": adaptation.validation,
            },
        }
    )
    return entry


def model_card(entry: dict) -> str:
    """A short model card for an adapted model (lineage, cases, recipe, validation before / after)."""
    adapted = entry["adapted"]
    summary = adapted["validation"].get("summary", {})
    lines = [
        f"# Model card: {entry['name']} {entry['version']}",
        "",
        f"Adapted on {adapted['date']} from **{entry['parent']['name']} {entry['parent']['version']}** "
        f"(sha256 {entry['parent']['sha256'][:12]}...) with `disccore adapt` on {len(adapted['cases'])} user cases: "
        f"{', '.join(sorted(adapted['cases']))}. Recipe: {json.dumps(adapted['recipe'])}. Public training cases "
        f"replayed: {', '.join(adapted.get('replayed', [])) or 'none'}.",
        "",
        "## Validation on held-out user cases (mean Dice per kind of structure)",
        "",
    ]
    if summary.get("before"):
        lines += ["| structure | parent | adapted |", "|---|---|---|"]
        for kind in summary["before"]:
            lines.append(f"| {kind} | {summary['before'][kind]:.3f} | {summary['after'].get(kind, float('nan')):.3f} |")
        lines.append(
            f"\nHeld out: {', '.join(adapted['validation']['held_out'])} (each scored by a model fine-tuned "
            "without it). The weights here are then fine-tuned on all cases."
        )
    else:
        lines.append("None: a single case leaves nothing to hold out. Check the results on new cases before use.")
    lines += [
        "",
        "Intended use and limits: as for the parent model (see its model card); the adapted model is only "
        "checked on the cases above. Licence: as the parent's weights.",
    ]
    return "\n".join(lines) + "\n"


def write_model_folder(adaptation, out_dir, name: str, version: str = "1.0.0", overwrite: bool = False) -> Path:
    """Write the folder (weights, manifest.json, MODEL_CARD.md) atomically; returns its path."""
    import torch

    out = check_model_folder(out_dir, overwrite)
    tmp = out.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{out.name}")
    try:
        tmp.mkdir()
        weights = tmp / WEIGHTS_NAME
        torch.save({k: v.detach().cpu().clone() for k, v in adaptation.net.state_dict().items()}, weights)
        entry = add_onnx_export(manifest_entry(adaptation, name, version, weights), tmp)  # CPU inference w/o torch
        (tmp / MANIFEST_NAME).write_text(json.dumps({"format": 1, "models": [entry]}, indent=1) + "\n", "utf-8")
        (tmp / CARD_NAME).write_text(model_card(entry), "utf-8")
        if out.exists():  # --overwrite: an earlier model folder (checked above) is replaced whole
            shutil.rmtree(out)
        os.replace(tmp, out)
    except OSError as exc:
        raise OutputError(f"the model folder '{out}' could not be written ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out
