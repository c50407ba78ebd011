"""Fixtures for the MRML bridge tests (``pytest -m mrml``): a headless slicer-core scene.

Import from a test module with ``from conftest_mrml import *``. The scene and application logic are
built once per session (building them takes about a second); each test gets the scene emptied
afterwards.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("slicer_core", reason="slicer-core (MRML without Qt) is not installed: pip install slicer-core")

from disccore.image import Geometry, SpatialImage  # noqa: E402

__all__ = ["headless", "scene", "oblique_geometry", "make_labels"]


@pytest.fixture(scope="session")
def headless():
    from discmrml.headless import get_headless

    return get_headless()


@pytest.fixture
def scene(headless):
    yield headless.scene
    headless.clear()


def oblique_geometry(
    size=(14, 16, 9), spacing=(0.55, 0.6, 3.3), origin=(12.5, -40.25, 7.0), angles=(0.31, -0.2, 0.47), left_handed=False
) -> Geometry:
    """An oblique, anisotropic grid (LPS) with a rotation about all three axes."""
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    direction = rz @ ry @ rx
    if left_handed:
        direction = direction @ np.diag([1.0, 1.0, -1.0])
    return Geometry(size=size, spacing=np.array(spacing), origin=np.array(origin), direction=direction)


def make_labels(geometry: Geometry) -> SpatialImage:
    """A small label map with two vertebrae, the disc between them and a canal, scheme values."""
    a = np.zeros(geometry.size, np.int16)
    ni, nj, nk = geometry.size
    a[2 : ni - 2, 1:5, 2 : nk - 2] = 23  # L4
    a[2 : ni - 2, 5:7, 2 : nk - 2] = 123  # L4-L5
    a[2 : ni - 2, 7:12, 2 : nk - 2] = 24  # L5
    a[ni - 2 :, 3:10, 3 : nk - 3] = 201  # canal
    return SpatialImage(a, geometry)
