"""The Python packages the model needs inside Slicer, installed on first use after asking (never at import time).

On the CPU the model runs on ONNX Runtime; on the GPU it needs a CUDA build of torch, which comes only through the
PyTorch extension (PyTorchUtils matches the build to the NVIDIA driver): never pip's default torch, which on Linux is
gigabytes of CUDA libraries for some CUDA version, maybe not the driver's. Adapting a model to the user's cases
trains it: torch and MONAI. The panel passes its dialogs in (``confirm``, ``show_error``), so this stays Qt-free.
"""

from __future__ import annotations

import contextlib
import importlib.util
from typing import Callable, Optional

#: import name -> pip name
BASE_PACKAGES = {"scipy": "scipy", "SimpleITK": "SimpleITK"}
CPU_PACKAGES = {"onnxruntime": "onnxruntime"}
GPU_PACKAGES = {"torch": "torch"}
TRAINING_PACKAGES = {"torch": "torch", "monai": "monai"}
GPU_DEVICES = ("gpu", "cuda")
NO_PYTORCH_EXTENSION = (
    "PyTorch is needed for the GPU and for adapting a model, and comes from the PyTorch "
    "extension: install it from the Extensions Manager and restart Slicer (or segment on the CPU)."
)


def required_packages(device: str = "auto", training: bool = False) -> dict:
    """ "auto" runs on the GPU only when a CUDA build of torch is already there, so it needs what the CPU needs;
    ``training`` (adapting the model) needs torch and MONAI whatever the device."""
    if training:
        return {**BASE_PACKAGES, **TRAINING_PACKAGES}
    runtime = GPU_PACKAGES if str(device).lower() in GPU_DEVICES else CPU_PACKAGES
    return {**BASE_PACKAGES, **runtime}


def missing_packages(device: str = "auto", training: bool = False) -> list:
    """Import names of the packages segmenting on ``device`` (or ``training``) needs that are not installed."""
    return [name for name in required_packages(device, training) if importlib.util.find_spec(name) is None]


def pytorch_utils():
    """The PyTorch extension's module, or None when that extension is not installed."""
    try:
        import PyTorchUtils
    except ImportError:
        return None
    return PyTorchUtils


def ensure_packages(
    device: str = "auto",
    training: bool = False,
    confirm: Optional[Callable[[str], bool]] = None,
    show_error: Callable[[str], None] = print,
    busy=contextlib.nullcontext,
) -> bool:
    """Install what is missing after ``confirm(question)`` says yes (no question when None), inside ``busy()`` (e.g.
    a wait cursor); torch only through the PyTorch extension. Returns whether everything is there; ``show_error``
    says why not."""
    import slicer

    missing = missing_packages(device, training)
    if not missing:
        return True
    if "torch" in missing and pytorch_utils() is None:
        show_error(NO_PYTORCH_EXTENSION)
        return False
    question = (
        "The disc segmentation model needs these Python packages, which are not installed yet:\n"
        + ", ".join(missing)
        + "\n\nInstall them now? This downloads them and may take several minutes."
    )
    if confirm is not None and not confirm(question):
        return False
    with busy():
        if "torch" in missing:
            pytorch_utils().PyTorchUtilsLogic().installTorch(askConfirmation=False)
        others = [required_packages(device, training)[name] for name in missing if name != "torch"]
        if others:
            slicer.util.pip_install(others)
    still = missing_packages(device, training)
    if still:
        show_error("These packages could not be installed: " + ", ".join(still))
    return not still
