"""Static checks of the Slicer modules and the extension's CMake (no Slicer needed: AST and XML only).

Real 3D Slicer is not installable in CI, so these catch what would only fail inside it: widget names
the code uses but the .ui lacks, parameter names that do not bind, imports Slicer does not have,
files CMake would not package.
"""

from __future__ import annotations

import ast
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = ("DiscSegmenter", "DiscMeasure")
ALLOWED_IMPORTS = {"slicer", "qt", "ctk", "vtk", "disccore", "discmrml", "numpy"}  # numpy ships with Slicer
OPTIONAL_SLICER_MODULES = {"PyTorchUtils"}  # another extension's module, imported inside try/except
MAX_MODULE_LINES = 500


def _module_py(name):
    return REPO / name / f"{name}.py"


def _module_sources(name):
    """The module file and the files of its Lib package (parts of the panel kept out of the module file)."""
    return [_module_py(name)] + sorted((REPO / name / f"{name}Lib").glob("*.py"))


def _ui(name):
    return REPO / name / "Resources" / "UI" / f"{name}.ui"


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def _ui_widgets(path):
    root = ET.parse(path).getroot()
    return {w.get("name"): w for w in root.iter("widget")}


def _ui_parameter_names(path):
    names = {}
    for widget in ET.parse(path).getroot().iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                names[prop.find("string").text] = widget.get("name")
    return names


def _self_ui_names(tree):
    """Names used as ``self.ui.<name>``."""
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "ui"
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
        ):
            out.add(node.attr)
    return out


def _parameter_fields(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (isinstance(d, ast.Name) and d.id == "parameterNodeWrapper") for d in node.decorator_list
        ):
            return [s.target.id for s in node.body if isinstance(s, ast.AnnAssign)]
    return None


def _parameter_annotations(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (isinstance(d, ast.Name) and d.id == "parameterNodeWrapper") for d in node.decorator_list
        ):
            return {s.target.id: ast.unparse(s.annotation) for s in node.body if isinstance(s, ast.AnnAssign)}
    return {}


def _module_constant(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


@pytest.mark.parametrize("name", MODULES)
def test_every_self_ui_name_is_a_widget_in_the_ui(name):
    used = set().union(*(_self_ui_names(_tree(py)) for py in _module_sources(name)))
    widgets = _ui_widgets(_ui(name))
    assert used, "the module uses no self.ui widgets?"
    missing = sorted(used - set(widgets))
    assert not missing, f"{name}.py uses self.ui.{missing} but {name}.ui has no widget of that name"


@pytest.mark.parametrize("name", MODULES)
def test_parameter_node_fields_match_ui_parameter_names(name):
    fields = _parameter_fields(_tree(_module_py(name)))
    assert fields, f"{name}.py has no @parameterNodeWrapper class"
    bound = _ui_parameter_names(_ui(name))
    by_code = set(_module_constant(_tree(_module_py(name)), "PARAMETERS_SYNCED_BY_CODE") or ())
    assert set(bound) <= set(fields), f"{name}.ui binds unknown parameters {sorted(set(bound) - set(fields))}"
    assert not set(bound) & by_code, f"{sorted(set(bound) & by_code)} are both bound in the .ui and synced by code"
    unbound = set(fields) - set(bound) - by_code
    assert not unbound, f"parameters not bound to any widget in {name}.ui: {sorted(unbound)}"
    # connectGui binds a QComboBox to a str/int/float/bool parameter only with a Choice annotation
    widgets = _ui_widgets(_ui(name))
    annotations = _parameter_annotations(_tree(_module_py(name)))
    for parameter, widget_name in bound.items():
        if widgets[widget_name].get("class") == "QComboBox":
            assert "Choice(" in annotations[parameter], (
                f"{parameter} is bound to a QComboBox but has no Choice annotation"
            )
    source = _module_py(name).read_text()
    # connectGui returns None on Slicer 5.8.x: bind through discmrml.panels, which keeps a real tag
    assert "connect_gui(self._parameterNode, self.ui)" in source and "disconnect_gui(" in source
    assert ".connectGui(" not in source and ".disconnectGui(" not in source


@pytest.mark.parametrize("name", MODULES)
def test_ui_is_a_qmrml_widget_with_scene_connected_selectors(name):
    root = ET.parse(_ui(name)).getroot()
    top = root.find("widget")
    assert top.get("class") == "qMRMLWidget" and top.get("name") == name
    connected = {
        c.findtext("receiver") for c in root.iter("connection") if c.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"
    }
    for wname, widget in _ui_widgets(_ui(name)).items():
        if widget.get("class") == "qMRMLNodeComboBox":
            assert wname in connected, f"{wname} does not get the scene (mrmlSceneChanged -> setMRMLScene)"
            assert any(p.get("name") == "nodeTypes" for p in widget.findall("property")), f"{wname} has no nodeTypes"


def _top_level_imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_only_what_slicer_has(name):
    stdlib = set(sys.stdlib_module_names)
    own_lib = {f"{name}Lib"}
    bad = sorted(
        {
            m
            for py in _module_sources(name)
            for m in _top_level_imports(_tree(py))
            if m not in ALLOWED_IMPORTS | OPTIONAL_SLICER_MODULES | own_lib and m not in stdlib
        }
    )
    assert not bad, f"{name}.py imports {bad}, which a plain Slicer does not have"


def test_discmrml_never_imports_qt_or_ctk():
    for py in (REPO / "DiscCore" / "discmrml").rglob("*.py"):
        mods = set(_top_level_imports(_tree(py)))
        assert not mods & {"qt", "ctk", "PythonQt"}, f"{py.name} imports Qt/CTK; discmrml must run on slicer-core"


def _slicer_util_names():
    try:
        import importlib.util

        spec = importlib.util.find_spec("slicer.util")
        tree = ast.parse(Path(spec.origin).read_text())
        return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    except Exception:
        return {
            "getNode",
            "arrayFromVolume",
            "updateVolumeFromArray",
            "errorDisplay",
            "infoDisplay",
            "loadUI",
            "childWidgetVariables",
            "confirmOkCancelDisplay",
            "pip_install",
            "tryWithErrorDisplay",
            "mainWindow",
            "addVolumeFromArray",
            "arrayFromMarkupsControlPoints",
            "loadVolume",
            "saveNode",
            "exit",
            "delayDisplay",
        }


def test_util_functions_are_called_through_slicer_util():
    """slicer-core copies slicer.util functions onto slicer; real Slicer does not: write slicer.util.X."""
    util = _slicer_util_names() - {"util"}
    files = [py for m in MODULES for py in _module_sources(m)] + list((REPO / "DiscCore" / "discmrml").rglob("*.py"))
    files.append(REPO / "batch.py")
    offenders = []
    for py in files:
        for node in ast.walk(_tree(py)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "slicer"
                and node.attr in util
            ):
                offenders.append(f"{py.name}:{node.lineno} slicer.{node.attr}")
    assert not offenders, "use slicer.util.X: " + ", ".join(offenders)


@pytest.mark.parametrize("name", MODULES)
def test_module_follows_the_template_and_stays_thin(name):
    tree = _tree(_module_py(name))
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    for suffix, base in (
        ("", "ScriptedLoadableModule"),
        ("Widget", "ScriptedLoadableModuleWidget"),
        ("Logic", "ScriptedLoadableModuleLogic"),
        ("Test", "ScriptedLoadableModuleTest"),
    ):
        cls = classes.get(name + suffix)
        assert cls is not None, f"{name}.py lacks class {name + suffix}"
        assert base in {b.id for b in cls.bases if isinstance(b, ast.Name)}, (
            f"{name + suffix} does not derive from {base}"
        )
    assert "runTest" in {f.name for f in classes[name + "Test"].body if isinstance(f, ast.FunctionDef)}
    source = _module_py(name).read_text()
    assert "slicer.util.tryWithErrorDisplay" in source
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name}.py has {lines} lines; move logic into discmrml/disccore"


# --- CMake -------------------------------------------------------------------------------------
def _cmake_listed(path, variables=None):
    text = path.read_text()
    for key, value in (variables or {}).items():
        text = text.replace("${" + key + "}", value)
    text = re.sub(r"#.*", "", text)
    return set(re.findall(r"[\w./-]+\.(?:py|json|ui|png)\b", text))


@pytest.mark.parametrize("name", MODULES)
def test_module_cmake_lists_its_py_ui_and_icon(name):
    folder = REPO / name
    listed = _cmake_listed(folder / "CMakeLists.txt", {"MODULE_NAME": name})
    expected = {f"{name}.py", f"Resources/UI/{name}.ui", f"Resources/Icons/{name}.png"}
    assert expected <= listed, f"{name}/CMakeLists.txt does not list {sorted(expected - listed)}"
    packaged = {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.suffix in (".py", ".ui", ".png")
        and "Testing" not in p.relative_to(folder).parts
        and "__pycache__" not in p.parts
    }
    assert packaged <= listed, f"files not packaged by {name}/CMakeLists.txt: {sorted(packaged - listed)}"
    assert all((folder / f).is_file() for f in listed), "CMake lists a file that does not exist"
    cm = (folder / "CMakeLists.txt").read_text()
    assert "slicerMacroBuildScriptedModule" in cm and "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in cm
    assert (folder / "Testing" / "CMakeLists.txt").is_file() and (
        folder / "Testing" / "Python" / "CMakeLists.txt"
    ).is_file()


def _cmake_set_block(path, variable):
    text = re.sub(r"#.*", "", path.read_text())
    m = re.search(r"set\(\s*" + variable + r"\s+([^)]*)\)", text)
    return set(m.group(1).split()) if m else set()


def test_disccore_cmake_lists_every_packaged_file():
    folder = REPO / "DiscCore"
    cmake = folder / "CMakeLists.txt"
    scripts, resources = (
        _cmake_set_block(cmake, "DISCCORE_PYTHON_SCRIPTS"),
        _cmake_set_block(cmake, "DISCCORE_PYTHON_RESOURCES"),
    )
    assert all(f.endswith(".py") for f in scripts) and all(f.endswith(".json") for f in resources)
    listed = scripts | resources
    packaged = {
        str(p.relative_to(folder))
        for pkg in ("disccore", "discmrml")
        for p in (folder / pkg).rglob("*")
        if p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    }
    missing = sorted(packaged - listed)
    assert not missing, (
        "DiscCore/CMakeLists.txt does not package these files; add them to DISCCORE_PYTHON_SCRIPTS "
        "(.py) or DISCCORE_PYTHON_RESOURCES (.json):\n  " + "\n  ".join(missing)
    )
    stale = sorted(f for f in listed if not (folder / f).is_file())
    assert not stale, f"DiscCore/CMakeLists.txt lists files that do not exist: {stale}"
    text = (folder / "CMakeLists.txt").read_text()
    assert "Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR" in text and "models" in text


def test_extension_cmake_metadata_and_subdirectories():
    text = (REPO / "CMakeLists.txt").read_text()
    meta = dict(re.findall(r'set\((EXTENSION_\w+)\s+"([^"]*)"\)', text))
    for key in (
        "EXTENSION_HOMEPAGE",
        "EXTENSION_CATEGORY",
        "EXTENSION_CONTRIBUTORS",
        "EXTENSION_DESCRIPTION",
        "EXTENSION_ICONURL",
        "EXTENSION_SCREENSHOTURLS",
        "EXTENSION_DEPENDS",
    ):
        assert meta.get(key, "").strip(), f"{key} is missing or empty"
    assert meta["EXTENSION_CATEGORY"] == "Segmentation"
    assert "PyTorch" in meta["EXTENSION_DEPENDS"].split()
    assert re.search(r"project\(\w+\)", text)
    subdirs = re.findall(r"add_subdirectory\((\w+)\)", text)
    assert subdirs == ["DiscCore", "DiscSegmenter", "DiscMeasure"]
    icon = meta["EXTENSION_ICONURL"].rsplit("/main/", 1)[-1]
    assert (REPO / icon).is_file(), f"the extension icon {icon} is not in the repository"
    assert "Slicer_EXTENSION_GENERATE_CONFIG" in text and "Slicer_EXTENSION_CPACK" in text


# --- the widgets' life cycle in a real Slicer ---------------------------------------------------
def _method(tree, class_name, method_name):
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method_name:
                    return item
    return None


@pytest.mark.parametrize("name", MODULES)
def test_cleanup_stops_every_timer_the_widget_starts(name):
    """A module reload calls cleanup(): a timer left running would call into the old widget."""
    tree = _tree(_module_py(name))
    assigns = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)]
    timers = {
        t.attr
        for node in assigns
        if ast.unparse(node.value) == "qt.QTimer()"
        for t in node.targets
        if isinstance(t, ast.Attribute)
    }
    assert timers, f"{name}Widget creates no timer?"
    cleanup = ast.unparse(_method(tree, f"{name}Widget", "cleanup"))
    for timer in timers:
        assert f"self.{timer}.stop()" in cleanup, f"{name}Widget.cleanup() does not stop self.{timer}"


def test_segment_editor_is_set_up_as_slicers_segment_editor_module():
    """Modules/Scripted/SegmentEditor/SegmentEditor.py: editor node before scene, later effects, scene events."""
    tree = _tree(_module_py("DiscSegmenter"))
    widget = "DiscSegmenterWidget"
    setup = ast.unparse(_method(tree, widget, "setup"))
    assert setup.index("self._selectSegmentEditorNode()") < setup.index("segmentEditorWidget.setMRMLScene(")
    assert "setMRMLSegmentEditorNode(" in ast.unparse(_method(tree, widget, "_selectSegmentEditorNode"))
    assert "'effectRegistered(QString)', self.onEffectRegistered" in setup
    assert "updateEffectList()" in ast.unparse(_method(tree, widget, "onEffectRegistered"))
    assert "disconnect('effectRegistered(QString)'" in ast.unparse(_method(tree, widget, "cleanup"))
    assert "EndImportEvent, self.onSceneEndImport" in setup
    start_close = ast.unparse(_method(tree, widget, "onSceneStartClose"))
    assert "setSegmentationNode(None)" in start_close and "removeViewObservations()" in start_close
    assert "removeViewObservations()" in ast.unparse(_method(tree, widget, "exit"))
    for handler in ("onSceneEndClose", "onSceneEndImport", "enter"):
        body = ast.unparse(_method(tree, widget, handler))
        assert "self._selectSegmentEditorNode()" in body and "updateWidgetFromMRML()" in body, handler
    ui = (REPO / "DiscSegmenter" / "Resources" / "UI" / "DiscSegmenter.ui").read_text()
    assert "<receiver>segmentEditorWidget</receiver>" not in ui, "the .ui would give the editor the scene first"


def test_torch_is_never_pip_installed():
    """pip's default torch on Linux is gigabytes of CUDA libraries: torch comes only from the PyTorch extension."""
    files = [py for m in MODULES for py in _module_sources(m)] + [REPO / "DiscCore" / "discmrml" / "packages.py"]
    calls = [
        (py, node)
        for py in files
        for node in ast.walk(_tree(py))
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("pip_install")
    ]
    assert calls, "no pip_install call found: the check would pass on nothing"
    for py, node in calls:
        assert "torch" not in ast.unparse(node), f"{py.name}:{node.lineno} pip-installs torch"
