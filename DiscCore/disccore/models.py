"""Installed models: found offline through a manifest, checked by sha256 before use.

Search order for ``manifest.json``: $DISCCORE_MODELS_DIR, the source tree's ``models/`` (beside DiscCore/),
and ``models/`` beside the installed package (how the Slicer extension lays it out).

Models a user adapted (``disccore adapt``) live each in a folder with its own ``manifest.json``: in the user models
folder (:func:`user_models_dir`, one sub-folder per model), or anywhere, named by their folder path.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from .errors import ModelError
from .quality.thresholds import QualityThresholds
from .segment.postprocessing import PostProcessing

ENV_VAR = "DISCCORE_MODELS_DIR"
USER_ENV_VAR = "DISCCORE_USER_MODELS_DIR"
MANIFEST_NAME = "manifest.json"
_PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_TREE = _PACKAGE_DIR.parent.parent  # the checkout (DiscCore/disccore -> the repository), when run from one


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
    onnx_path: Optional[Path] = None  # the same network exported to ONNX (CPU inference without torch)
    onnx_sha256_expected: str = ""
    entry: dict = field(default_factory=dict, compare=False, repr=False)  # the whole manifest entry, as written
    user: bool = False  # adapted by a user (disccore adapt), not shipped
    postprocessing: PostProcessing = field(default_factory=PostProcessing)  # tuned for this model (older: defaults)
    quality_thresholds: QualityThresholds = field(default_factory=QualityThresholds)  # its calibrated qc thresholds


def model_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_VAR):
        chosen = Path(os.environ[ENV_VAR])
        if not chosen.is_dir():  # a typo must not silently fall back to the bundled models
            raise ModelError(f"{ENV_VAR} names '{chosen}', which is not a folder; fix it or unset it")
        dirs.append(chosen)
    dirs += [SOURCE_TREE / "models", _PACKAGE_DIR.parent / "models"]
    return dirs


def shipped_models() -> list[ModelInfo]:
    """Every model listed by the first manifest found (newest version first)."""
    for d in model_dirs():
        manifest = d / MANIFEST_NAME
        if manifest.is_file():
            return _read_manifest(manifest)
    return []


def user_data_dir() -> Path:
    """The platform's per-user data folder for disccore (``~/.local/share/disccore`` on Linux,
    ``~/Library/Application Support/disccore`` on macOS, ``%LOCALAPPDATA%\\disccore`` on Windows)."""
    import sys

    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "disccore"


def user_models_dir() -> Path:
    """Where ``disccore adapt`` puts a user's models by default: $DISCCORE_USER_MODELS_DIR, else ``models`` in
    :func:`user_data_dir`."""
    if os.environ.get(USER_ENV_VAR):
        return Path(os.environ[USER_ENV_VAR]).expanduser()
    return user_data_dir() / "models"


def user_models() -> list[ModelInfo]:
    """The models in the user models folder (one sub-folder with a manifest each), sorted by name."""
    root = user_models_dir()
    if not root.is_dir():
        return []
    return [m for d in sorted(root.iterdir()) if (d / MANIFEST_NAME).is_file() for m in read_model_folder(d)]


def read_model_folder(folder) -> list[ModelInfo]:
    """The models of a model folder (its ``manifest.json``), marked as the user's."""
    return [replace(m, user=True) for m in _read_manifest(Path(folder) / MANIFEST_NAME)]


def list_models() -> list[ModelInfo]:
    """The shipped models (newest version first), then the user's."""
    return shipped_models() + user_models()


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
                onnx_path=manifest.parent / m["onnx_file"] if m.get("onnx_file") else None,
                onnx_sha256_expected=m.get("onnx_sha256", ""),
                entry=dict(m),
                postprocessing=PostProcessing.from_manifest(m.get("postprocessing", {})),
                quality_thresholds=QualityThresholds.from_manifest(m.get("quality_thresholds", {})),
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


def verified_onnx_path(info: ModelInfo) -> Path:
    """The model's .onnx export, checked against the manifest's sha256 like the weights."""
    path = info.onnx_path
    if path is None or not path.is_file():
        raise ModelError(f"model '{info.name}' has no ONNX export ({path}); reinstall the extension or use torch")
    if sha256_of(path) != info.onnx_sha256_expected:
        raise ModelError(
            f"the ONNX export of model '{info.name}' is corrupt (sha256 mismatch: {path}); reinstall the extension"
        )
    return path


def resolve_model(name: Optional[str] = None) -> ModelInfo:
    """The named model, a model folder (a path holding a manifest.json), or the newest shipped model; verified.
    Raises ModelError with a clear message otherwise."""
    if name is not None and (Path(name).expanduser() / MANIFEST_NAME).is_file():
        return _verified(read_model_folder(Path(name).expanduser())[0])
    if name is not None and Path(name).expanduser().is_dir():
        raise ModelError(f"the model folder '{name}' holds no {MANIFEST_NAME}; give a folder written by disccore adapt")
    models = shipped_models() if name is None else list_models()
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
    return _verified(info)


def _verified(info: ModelInfo) -> ModelInfo:
    fix = "adapt it again (disccore adapt)" if info.user else "reinstall the extension"
    if not info.path.is_file():
        raise ModelError(f"the weights of model '{info.name}' are missing ({info.path}); {fix}")
    if not verify_model(info):
        raise ModelError(f"the weights of model '{info.name}' are corrupt (sha256 mismatch: {info.path}); {fix}")
    return info
