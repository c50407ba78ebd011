"""ONNX Runtime and torch run the same network: same logits, same labels, and the ONNX path never imports torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, subprocess_env

from disccore.errors import ModelError
from disccore.models import resolve_model
from disccore.segment import context_offsets, load_network
from disccore.segment.backend import (
    THREADS_ENV,
    OnnxBackend,
    TorchBackend,
    choose_backend,
    get_backend,
)
from disccore.segment.infer import predict_probabilities

SAMPLE = REPO_ROOT / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"
MAX_LOGIT_DIFFERENCE = 1e-3  # float32 kernels of two runtimes; measured about 1e-4
TIE = 1e-3  # labels may differ only where the two most likely classes are this close


def test_the_onnx_export_gives_the_logits_of_the_weights():
    info = resolve_model()
    onnx, torch_net = OnnxBackend(info.onnx_path), TorchBackend(load_network(info))
    for shape in ((3, len(context_offsets(info)), 160, 96), (1, len(context_offsets(info)), 224, 240)):
        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        difference = np.abs(onnx(x) - torch_net(x)).max()
        assert difference < MAX_LOGIT_DIFFERENCE, difference


def test_a_corrupt_onnx_export_is_refused(tmp_path, monkeypatch):
    shutil.copytree(REPO_ROOT / "models", tmp_path / "models")
    info = resolve_model()
    onnx = tmp_path / "models" / info.onnx_path.relative_to(REPO_ROOT / "models")
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"\0")
    monkeypatch.setenv("DISCCORE_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelError, match="ONNX export .* is corrupt"):
        get_backend(resolve_model(), "cpu", "onnx")


def test_the_backend_is_loaded_once_per_process_and_threads_come_from_the_environment(monkeypatch):
    info = resolve_model()
    monkeypatch.setenv(THREADS_ENV, "1")
    first = get_backend(info, "cpu", "onnx")
    assert get_backend(info, "cpu", "onnx") is first
    assert first.session.get_session_options().intra_op_num_threads == 1
    monkeypatch.setenv(THREADS_ENV, "two")
    with pytest.raises(ModelError, match=THREADS_ENV):
        get_backend(info, "cpu", "onnx")


def test_onnx_runs_on_the_cpu_and_torch_otherwise(monkeypatch):
    from dataclasses import replace

    info = resolve_model()
    assert choose_backend(info, "cpu", "auto") == ("onnx", "cpu")
    assert choose_backend(replace(info, onnx_path=None), "cpu", "auto") == ("torch", "cpu")
    assert choose_backend(info, "cpu", "torch") == ("torch", "cpu")
    with pytest.raises(ModelError, match="GPU"):
        choose_backend(info, "cuda", "onnx")


def _segment_without_torch(image_path, out_path):
    """Segment in a fresh process on ONNX Runtime; fails if torch was imported on the way."""
    code = (
        "import sys, numpy as np\n"
        "from disccore.io import read_image\n"
        "from disccore.segment import segment_image\n"
        f"labels = segment_image(read_image({str(image_path)!r}), device='cpu')\n"
        "assert 'torch' not in sys.modules, 'the ONNX path imported torch'\n"
        f"np.save({str(out_path)!r}, labels.array)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return np.load(out_path)


def _differences_outside_ties(image, onnx_labels, torch_labels):
    """(voxels whose labels differ, of which where no two class probabilities tie), reported on stdout."""
    info = resolve_model()
    differ = onnx_labels != torch_labels
    if not differ.any():
        return 0, 0
    probs = predict_probabilities(
        get_backend(info, "cpu", "torch"), image, info.input_spacing_mm, context_offsets(info)
    )
    top2 = np.sort(probs, axis=0)[-2:]
    tie = (top2[1] - top2[0]) < TIE
    return int(differ.sum()), int((differ & ~tie).sum())


def _compare_backends(image_path, tmp_path):
    from disccore.io import read_image
    from disccore.segment import segment_image

    onnx_labels = _segment_without_torch(image_path, tmp_path / "onnx.npy")
    image = read_image(image_path)
    torch_labels = segment_image(image, device="cpu", backend="torch").array
    differing, outside_ties = _differences_outside_ties(image, onnx_labels, torch_labels)
    print(f"{image_path.name}: {differing} voxels differ between ONNX Runtime and torch, {outside_ties} not at a tie")
    assert outside_ties == 0 and differing <= 1e-5 * onnx_labels.size
    assert len(np.unique(onnx_labels)) > 5  # a real segmentation, not an empty one


def test_onnx_and_torch_give_the_same_labels_on_the_sample(tmp_path):
    _compare_backends(SAMPLE, tmp_path)


@pytest.mark.shared_data
@pytest.mark.slow
def test_onnx_and_torch_give_the_same_labels_on_a_real_case(shared_data, tmp_path):
    image_path = sorted((shared_data / "vb3").glob("*_img.nii.gz"))[0]
    _compare_backends(image_path, tmp_path)


def test_the_manifest_lists_the_onnx_export_beside_the_weights():
    entry = json.loads((REPO_ROOT / "models" / "manifest.json").read_text())["models"][0]
    assert entry["onnx_file"] == str(__import__("pathlib").Path(entry["file"]).with_name("model.onnx"))
    assert len(entry["onnx_sha256"]) == 64
