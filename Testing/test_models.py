"""The model registry: manifest lookup, sha256 verification, clear errors."""

from __future__ import annotations

import json
import shutil

import pytest

from disccore import models
from disccore.cli.main import main
from disccore.errors import ModelError


def test_shipped_manifest_lists_a_verified_model():
    infos = models.list_models()
    assert infos, "no model shipped in models/manifest.json"
    for info in infos:
        assert models.verify_model(info), f"{info.name}: weights missing or sha256 mismatch"
        assert info.classes[0] == "background" and len(info.input_spacing_mm) == 2
    assert models.resolve_model().name == infos[0].name


def test_models_command_verifies(capsys):
    assert main(["models"]) == 0
    assert "[ok]" in capsys.readouterr().out


@pytest.fixture
def copied_models(tmp_path, monkeypatch):
    src = models.list_models()[0].path.parent.parent
    dst = tmp_path / "models"
    shutil.copytree(src, dst)
    monkeypatch.setenv(models.ENV_VAR, str(dst))
    return dst


def first_entry_with(models_dir, key: str, section):
    """The copied models' first entry with its ``key`` section replaced by ``section`` (None: removed), resolved."""
    doc = json.loads((models_dir / "manifest.json").read_text())
    doc["models"][0].pop(key, None)
    if section is not None:
        doc["models"][0][key] = section
    (models_dir / "manifest.json").write_text(json.dumps(doc))
    return models.resolve_model()


def test_corrupt_weights_are_refused(copied_models, capsys):
    info = models.list_models()[0]
    assert info.path.is_relative_to(copied_models)
    data = bytearray(info.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    info.path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt"):
        models.resolve_model()
    assert main(["models"]) == 1 and "MISMATCH" in capsys.readouterr().out


def test_missing_weights_and_unknown_name(copied_models):
    info = models.list_models()[0]
    info.path.unlink()
    with pytest.raises(ModelError, match="missing"):
        models.resolve_model()
    with pytest.raises(ModelError, match="no model named"):
        models.resolve_model("not-a-model")


def test_damaged_manifest(copied_models):
    (copied_models / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="damaged"):
        models.list_models()


def test_no_models_at_all(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.json").write_text(json.dumps({"models": []}))
    monkeypatch.setenv(models.ENV_VAR, str(empty))
    with pytest.raises(ModelError, match="no segmentation model"):
        models.resolve_model()
