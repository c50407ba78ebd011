"""Exact, interpolation-free reorientation to the model's canonical array layout.

Canonical layout (what the network sees): axis 0 runs right -> left (the sagittal slice axis), axis 1
superior -> inferior (image rows), axis 2 anterior -> posterior (image columns); i.e. each ``array[s]``
is a sagittal slice shown with superior up and anterior left. Only axis permutations and flips are used,
chosen as the closest match to the image's direction matrix (LPS), so the inverse is exact for any
orientation in the file; oblique images keep their obliquity (the network tolerates some tilt).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np

# canonical axis n points along LPS axis TARGET_AXES[n] with sign TARGET_SIGNS[n]: +L, -S (inferior), +P
TARGET_AXES = (0, 2, 1)
TARGET_SIGNS = (1.0, -1.0, 1.0)


@dataclass(frozen=True)
class Reorientation:
    """How to go from an array [i, j, k] to the canonical layout and back."""

    perm: tuple[int, int, int]  # canonical axis n = source axis perm[n]
    flips: tuple[bool, bool, bool]  # flip canonical axis n after the transpose

    def to_canonical(self, array: np.ndarray) -> np.ndarray:
        out = np.transpose(array, self.perm)
        for n, f in enumerate(self.flips):
            if f:
                out = np.flip(out, axis=n)
        return out

    def from_canonical(self, array: np.ndarray, leading: int = 0) -> np.ndarray:
        """Inverse of to_canonical; ``leading`` extra axes in front (e.g. classes) are kept."""
        out = array
        for n, f in enumerate(self.flips):
            if f:
                out = np.flip(out, axis=leading + n)
        inverse = np.argsort(self.perm)
        return np.transpose(out, tuple(range(leading)) + tuple(leading + int(a) for a in inverse))

    def spacing(self, spacing) -> np.ndarray:
        return np.asarray(spacing, float)[list(self.perm)]


def reorientation_for(direction) -> Reorientation:
    """The permutation/flip bringing an image with this LPS direction matrix closest to canonical."""
    d = np.asarray(direction, float)
    best, best_score = None, -1.0
    for perm in permutations(range(3)):
        score = sum(abs(d[TARGET_AXES[n], perm[n]]) for n in range(3))
        if score > best_score + 1e-9:
            best, best_score = perm, score
    flips = tuple(bool(np.sign(d[TARGET_AXES[n], best[n]]) != TARGET_SIGNS[n]) for n in range(3))
    return Reorientation(tuple(int(p) for p in best), flips)
