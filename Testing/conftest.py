"""Shared pytest fixtures: paths to the repository and to the real data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__import__("os").environ.get("DISCCORE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real MRI folder; tests using it skip with a reason when it is absent."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(
            f"real data not found at {SHARED_DATA} (set DISCCORE_SHARED_DATA or put ../shared beside the checkout)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def subprocess_env() -> dict:
    """Environment for child Pythons: this checkout's DiscCore first on the path (installed or not)."""
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "DiscCore"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def rotation(axis: int, degrees: float):
    """3x3 rotation about LPS axis ``axis`` (0, 1 or 2)."""
    import numpy as np

    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    m = np.eye(3)
    i, j = [k for k in range(3) if k != axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m
