"""What a speed benchmark ran on, printed and stored beside its figures: the same code ran 2.4-3.2 times slower on
one day's machine of this project than on another's, so a time means little without the CPU, its vector
instructions, the load and the library versions that produced it."""

from __future__ import annotations

import os
import platform
from importlib import metadata

SIMD_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")  # what ONNX Runtime and torch kernels use
LIBRARIES = ("numpy", "onnxruntime", "SimpleITK", "torch", "scipy")


def describe_machine() -> dict:
    cpu, flags = _cpu_info()
    return {
        "cpu": cpu or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "simd": [f for f in SIMD_FLAGS if f in flags],
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


def machine_line(machine: dict) -> str:
    simd = " ".join(machine["simd"]) or "unknown"
    load = machine["load_average"]
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items() if v)
    load_text = f"{load[0]:.2f}" if load else "unknown"
    return f"machine: {machine['cpu']}, {machine['cores']} cores, SIMD {simd}, load {load_text}; {libraries}"


def _cpu_info() -> tuple[str, set]:
    """(model name, flags) from /proc/cpuinfo on Linux; ("", empty) elsewhere."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return "", set()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name", ""), set(fields.get("flags", "").split())


def _version(name: str):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
