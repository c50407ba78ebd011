"""The foundation: anatomy scheme consistency, geometry maths, atomic outputs, layering rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import rotation

from disccore import anatomy
from disccore.errors import ImageContentError, LabelError, OutputError
from disccore.image import Geometry, SpatialImage, from_sitk, lps_to_ras, to_sitk
from disccore.outputs import atomic_output, check_output_path, write_text_atomic

DISCCORE = Path(__file__).resolve().parents[1] / "DiscCore" / "disccore"


# --- anatomy ----------------------------------------------------------------------------------------
def test_scheme_names_and_labels_unique():
    s = anatomy.structures()
    assert len({x.name for x in s}) == len(s)
    assert len({x.label for x in s}) == len(s)
    assert all(0 < x.label < 256 for x in s), "labels must fit uint8 label maps"


def test_core_lumbar_structures_present():
    core = {x.name for x in anatomy.structures() if x.core}
    assert core == {"L1", "L2", "L3", "L4", "L5", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1", "canal"}


def test_each_disc_sits_between_consecutive_vertebrae():
    order = [v.name for v in anatomy.vertebrae()]
    for d in anatomy.discs():
        up, lo = anatomy.adjacent_vertebrae(d.name)
        assert order.index(lo.name) == order.index(up.name) + 1
        assert d.name == f"{up.name}-{lo.name}"


def test_colours_and_terminology_complete():
    for s in anatomy.structures():
        assert len(s.color) == 3 and all(0 <= c <= 1 for c in s.color)
        assert s.type.scheme == "SCT" and s.type.value.isdigit() and s.type.meaning


@pytest.mark.parametrize(
    "raw, name", [("l4/l5", "L4-L5"), ("L5-S", "L5-S1"), ("L4_L5", "L4-L5"), ("Canal", "canal"), ("t12-l1", "T12-L1")]
)
def test_name_normalisation(raw, name):
    assert anatomy.by_name(raw).name == name


def test_unknown_name_is_a_label_error():
    with pytest.raises(LabelError, match="known names"):
        anatomy.by_name("L7")


# --- geometry -----------------------------------------------------------------------------------------
def oblique_geometry():
    d = rotation(0, 17) @ rotation(2, -31) @ np.diag([1, -1, 1])  # left-handed, oblique
    return Geometry((7, 9, 5), spacing=(0.43, 0.43, 4.4), origin=(-12.5, 40.25, 3.0), direction=d)


def test_index_to_lps_and_back_is_exact():
    g = oblique_geometry()
    ijk = np.array([[0, 0, 0], [6, 8, 4], [1.5, 2.25, 3.75]])
    back = g.lps_to_index(g.index_to_lps(ijk))
    np.testing.assert_allclose(back, ijk, atol=1e-12)
    # matches the homogeneous matrix, and RAS differs by the sign of x and y only
    hom = (g.ijk_to_lps() @ np.c_[ijk, np.ones(3)].T).T[:, :3]
    np.testing.assert_allclose(hom, g.index_to_lps(ijk), atol=1e-12)
    np.testing.assert_allclose((g.ijk_to_ras() @ np.c_[ijk, np.ones(3)].T).T[:, :3], lps_to_ras(hom), atol=1e-12)


def test_distances_are_physical():
    g = oblique_geometry()
    p = g.index_to_lps([[0, 0, 0], [0, 0, 1], [1, 0, 0]])
    assert np.linalg.norm(p[1] - p[0]) == pytest.approx(4.4)
    assert np.linalg.norm(p[2] - p[0]) == pytest.approx(0.43)


def test_sitk_round_trip_is_exact():
    g = oblique_geometry()
    arr = np.arange(np.prod(g.size), dtype=np.int16).reshape(g.size)
    img = SpatialImage(arr, g)
    back = from_sitk(to_sitk(img))
    assert np.array_equal(back.array, arr)
    assert back.geometry.same_grid(g, tol=1e-12)
    # SimpleITK agrees on where voxel (i, j, k) lies
    s = to_sitk(img)
    np.testing.assert_allclose(
        s.TransformContinuousIndexToPhysicalPoint((1.0, 2.0, 3.0)), g.index_to_lps([1, 2, 3]), atol=1e-9
    )


def test_non_orthonormal_direction_rejected():
    g = Geometry((4, 4, 4), direction=[[1, 0.2, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ImageContentError, match="orthonormal"):
        g.validate()


def test_array_must_match_geometry():
    with pytest.raises(ValueError):
        SpatialImage(np.zeros((3, 3, 3)), Geometry((3, 3, 4)))


# --- outputs ------------------------------------------------------------------------------------------
def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "t.csv"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_keeps_suffixes_and_refuses_clobber(tmp_path):
    target = tmp_path / "x.seg.nrrd"
    with atomic_output(target) as tmp:
        assert tmp.name.endswith(".seg.nrrd") and tmp.parent == tmp_path
        tmp.write_text("v1")
    with pytest.raises(OutputError, match="--overwrite"):
        write_text_atomic(target, "v2")
    assert target.read_text() == "v1"
    write_text_atomic(target, "v2", overwrite=True)
    assert target.read_text() == "v2"


def test_output_folder_must_exist(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "x.csv")


# --- layering -----------------------------------------------------------------------------------------
FORBIDDEN_IN_CORE = {"slicer", "qt", "vtk", "ctk", "discmrml"}
HEAVY_AT_IMPORT = {"torch", "monai"}


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module.split(".")[0]


def test_disccore_never_imports_slicer_qt_vtk():
    for py in DISCCORE.rglob("*.py"):
        for _, mod in _imports(ast.parse(py.read_text())):
            assert mod not in FORBIDDEN_IN_CORE, f"{py.relative_to(DISCCORE)} imports {mod}"


def _executed_at_import(node):
    """Statements run when the module is imported: everything except function bodies."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _executed_at_import(child)


# Modules made of torch layers: they import torch at their top, so every other module imports them lazily.
TORCH_ONLY_MODULES = {"segment/unet.py"}
TORCH_ONLY_NAMES = {Path(m).stem for m in TORCH_ONLY_MODULES}


def test_torch_and_monai_only_imported_inside_functions():
    for py in DISCCORE.rglob("*.py"):
        rel = py.relative_to(DISCCORE).as_posix()
        for node in _executed_at_import(ast.parse(py.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.level > 0:  # a relative import of a torch-only module runs torch at import too
                    last = node.module.split(".")[-1]
                    assert last not in TORCH_ONLY_NAMES, f"{rel} imports .{last} at import time"
                    continue
                mods = [node.module.split(".")[0]]
            else:
                continue
            if rel in TORCH_ONLY_MODULES:
                continue
            for mod in mods:
                assert mod not in HEAVY_AT_IMPORT, f"{rel} imports {mod} at import time"


def test_disccore_imports_without_loading_torch():
    code = (
        "import sys, disccore, disccore.segment, disccore.measure, disccore.pipeline, disccore.cli.main; "
        "print(sorted(m for m in ('torch', 'monai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
