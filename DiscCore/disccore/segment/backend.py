"""Who runs the network: ONNX Runtime on a CPU (no torch needed), torch for a GPU and as the CPU fallback.

A backend is called with a batch of slices (N, channels, H, W) float32 numpy array, H and W multiples of
PAD_MULTIPLE, and returns the logits (N, classes, H, W) float32; all preparation around it is shared numpy code
(:mod:`.infer`). Backends are cached per process (:func:`get_backend`), so a process that segments many cases
loads the model once.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Optional

import numpy as np

from ..errors import ModelError

THREADS_ENV = "DISCCORE_THREADS"  # CPU threads for the network (batch workers set it so workers x threads = cores)
BACKEND_ENV = "DISCCORE_BACKEND"  # onnx or torch instead of the automatic choice (benchmarks, comparisons)
BACKENDS = ("auto", "onnx", "torch")
_CACHE: dict = {}


def threads_from_env() -> Optional[int]:
    """The thread count set in DISCCORE_THREADS, or None (the library's default)."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ModelError(f"{THREADS_ENV} must be a positive whole number of threads, not '{value}'")
    return int(value)


def onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


class OnnxBackend:
    """The exported network under ONNX Runtime's CPU provider."""

    # slices per call: on a 2-core CPU, 80 slices of 5 x 224 x 224 took 1.29-1.37 s in batches of 1-4 against 1.55 s
    # in 8 and 1.7-1.8 s in 16-40 (the activations of a small batch stay in the caches)
    batch_size = 4

    def __init__(self, path, threads: Optional[int] = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.description = "ONNX Runtime on the CPU"
        self.note = ""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]


class TorchBackend:
    """A torch module (the loaded U-Net, or a network in training) on a device; on a GPU that runs out of
    memory it moves to the CPU and goes on (``note`` says so)."""

    def __init__(self, net, device: str = "cpu", threads: Optional[int] = None):
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.net, self.device = net, device
        self.description = f"torch on {device}"
        self.note = ""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        try:
            return self._run(batch)
        except torch.cuda.OutOfMemoryError:
            self.net = self.net.to("cpu")
            torch.cuda.empty_cache()
            self.device, self.note = "cpu", "GPU memory ran out: continued on the CPU"
            return self._run(batch)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device)
            return self.net(x).float().cpu().numpy()


def choose_backend(info, device: str = "auto", backend: str = "auto") -> tuple[str, str]:
    """(backend, device): ONNX Runtime for the CPU when it and the model's .onnx are there, torch otherwise."""
    if backend == "auto":
        backend = os.environ.get(BACKEND_ENV, "").strip() or "auto"
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        wants_gpu = device == "cuda" or (device == "auto" and _gpu_present())
        usable = onnxruntime_installed() and info.onnx_path is not None
        backend = "onnx" if usable and not wants_gpu else "torch"
    if backend == "onnx":
        if device == "cuda":
            raise ModelError("ONNX Runtime runs on the CPU here; use the torch backend for a GPU")
        if not onnxruntime_installed():
            raise ModelError("onnxruntime is not installed; install it (pip install onnxruntime) or use torch")
        return "onnx", "cpu"
    from . import choose_device

    return "torch", choose_device(device)


def _gpu_present() -> bool:
    """A CUDA GPU is usable (asks torch only where an NVIDIA driver is loaded, so a CPU machine never imports it)."""
    if not os.path.exists("/proc/driver/nvidia/version") or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def get_backend(info, device: str = "auto", backend: str = "auto"):
    """The network of ``info`` ready to run (one per model, backend, device and thread count in a process)."""
    kind, dev = choose_backend(info, device, backend)
    threads = threads_from_env()
    key = (str(info.path), info.sha256_expected, kind, dev, threads)
    if key not in _CACHE:
        if kind == "onnx":
            from ..models import verified_onnx_path

            _CACHE[key] = OnnxBackend(verified_onnx_path(info), threads)
        else:
            from . import load_network

            _CACHE[key] = TorchBackend(load_network(info, dev), dev, threads)
    return _CACHE[key]
