"""The anatomy scheme: every structure named once (name, label value, colour, terminology).

The scheme lives in ``anatomy.json`` beside this file; everything else reads it through this module.
Vertebrae are ordered cranial -> caudal (T11 ... S1); a disc sits between its ``upper`` and
``lower`` vertebra.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from .errors import LabelError

_SCHEME_PATH = Path(__file__).with_name("anatomy.json")


@dataclass(frozen=True)
class Code:
    """A coded concept (scheme designator, code value, code meaning), e.g. ('SCT', '66794005', 'L1 vertebra')."""

    scheme: str
    value: str
    meaning: str


@dataclass(frozen=True)
class Structure:
    """One named structure of the scheme."""

    name: str  # segment name, e.g. 'L4', 'L4-L5', 'canal'
    label: int  # value in label maps
    kind: str  # 'vertebra' | 'disc' | 'canal'
    core: bool  # part of the default lumbar output
    color: tuple[float, float, float]  # RGB in [0, 1]
    category: Code
    type: Code
    description: str
    upper: Optional[str] = None  # discs only: vertebra above
    lower: Optional[str] = None  # discs only: vertebra below


@lru_cache(maxsize=1)
def _load() -> tuple[Structure, ...]:
    doc = json.loads(_SCHEME_PATH.read_text())
    out = []
    for s in doc["structures"]:
        out.append(
            Structure(
                name=s["name"],
                label=int(s["label"]),
                kind=s["kind"],
                core=bool(s["core"]),
                color=tuple(float(c) for c in s["color"]),
                category=Code(*s["terminology"]["category"]),
                type=Code(*s["terminology"]["type"]),
                description=s["description"],
                upper=s.get("upper"),
                lower=s.get("lower"),
            )
        )
    return tuple(out)


def structures() -> tuple[Structure, ...]:
    """All structures, vertebrae cranial->caudal, then discs cranial->caudal, then the canal."""
    return _load()


def vertebrae() -> tuple[Structure, ...]:
    return tuple(s for s in _load() if s.kind == "vertebra")


def discs() -> tuple[Structure, ...]:
    return tuple(s for s in _load() if s.kind == "disc")


def canal() -> Structure:
    return next(s for s in _load() if s.kind == "canal")


def by_name(name: str) -> Structure:
    """The structure with this segment name (case-insensitive; 'L5-S', 'L4/L5' and 'L4_L5' accepted)."""
    key = normalize_name(name)
    for s in _load():
        if s.name.upper() == key.upper():
            return s
    known = ", ".join(s.name for s in _load())
    raise LabelError(f"'{name}' is not a structure this tool knows; known names are: {known}")


def by_label(label: int) -> Structure:
    for s in _load():
        if s.label == int(label):
            return s
    raise LabelError(f"label value {label} is not in the anatomy scheme")


def normalize_name(name: str) -> str:
    """Canonical spelling of a level name: 'l4/l5' -> 'L4-L5', 'L5-S' -> 'L5-S1', 'Canal' -> 'canal'."""
    n = name.strip().replace("/", "-").replace("_", "-").replace(" ", "")
    if n.lower() in ("canal", "spinalcanal", "spinal-canal"):
        return "canal"
    n = n.upper()
    if n.endswith("-S"):
        n += "1"
    return n


def adjacent_vertebrae(disc_name: str) -> tuple[Structure, Structure]:
    """(vertebra above, vertebra below) of a disc."""
    d = by_name(disc_name)
    if d.kind != "disc":
        raise LabelError(f"'{disc_name}' is not a disc")
    return by_name(d.upper), by_name(d.lower)


def default_label_names() -> dict[int, str]:
    """label value -> segment name for the whole scheme."""
    return {s.label: s.name for s in _load()}
