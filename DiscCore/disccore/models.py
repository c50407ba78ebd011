"""Installed models: found offline through a manifest, checked by sha256 before use.

Search order for ``manifest.json``: $DISCCORE_MODELS_DIR, the source tree's ``models/`` (beside DiscCore/),
and ``models/`` beside the installed package (how the Slicer extension lays it out).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import ModelError

ENV_VAR = "DISCCORE_MODELS_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    path: Path  # the weights file
    description: str = ""
    sha256_expected: str = ""
    classes: tuple = ()  # output class index -> what it is (see disccore.segment.classes)
    input_spacing_mm: tuple = (1.0, 1.0)
    network: dict = field(default_factory=dict)


def model_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_VAR):
        chosen = Path(os.environ[ENV_VAR])
        if not chosen.is_dir():  # a typo must not silently fall back to the bundled models
            raise ModelError(f"{ENV_VAR} names '{chosen}', which is not a folder; fix it or unset it")
        dirs.append(chosen)
    dirs += [_PACKAGE_DIR.parent.parent / "models", _PACKAGE_DIR.parent / "models"]
    return dirs


def list_models() -> list[ModelInfo]:
    """Every model listed by the first manifest found (newest version first)."""
    for d in model_dirs():
        manifest = d / "manifest.json"
        if manifest.is_file():
            return _read_manifest(manifest)
    return []


def _read_manifest(manifest: Path) -> list[ModelInfo]:
    try:
        doc = json.loads(manifest.read_text())
        out = [
            ModelInfo(
                name=m["name"],
                version=str(m["version"]),
                path=manifest.parent / m["file"],
                description=m.get("description", ""),
                sha256_expected=m["sha256"],
                classes=tuple(m["classes"]),
                input_spacing_mm=tuple(m.get("input_spacing_mm", (1.0, 1.0))),
                network=dict(m.get("network", {})),
            )
            for m in doc["models"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the model manifest {manifest} is damaged ({exc}); reinstall the extension") from exc
    return sorted(out, key=lambda m: _version_key(m.version), reverse=True)


def _version_key(version: str):
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_model(info: ModelInfo) -> bool:
    """True when the weights exist and match the manifest's sha256."""
    return info.path.is_file() and sha256_of(info.path) == info.sha256_expected


def resolve_model(name: Optional[str] = None) -> ModelInfo:
    """The named model (or the newest), verified; raises ModelError with a clear message otherwise."""
    models = list_models()
    if not models:
        raise ModelError(
            f"no segmentation model is installed (looked in {', '.join(str(d) for d in model_dirs())}); "
            f"reinstall the extension or set {ENV_VAR}"
        )
    if name is None:
        info = models[0]
    else:
        matches = [m for m in models if m.name == name]
        if not matches:
            raise ModelError(f"no model named '{name}'; installed: {', '.join(m.name for m in models)}")
        info = matches[0]
    if not info.path.is_file():
        raise ModelError(f"the weights of model '{info.name}' are missing ({info.path}); reinstall the extension")
    if not verify_model(info):
        raise ModelError(f"the weights of model '{info.name}' are corrupt (sha256 mismatch: {info.path}); reinstall the extension")
    return info
