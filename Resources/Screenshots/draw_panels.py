"""Draw the layout of each module panel from its .ui file: Resources/Screenshots/DiscSegmenter.png, DiscMeasure.png.

These pictures show the LAYOUT of the panels (the widgets, their order and their texts, as in the .ui files);
they are NOT screenshots of a running 3D Slicer. Slicer's own widgets are replaced by plain Qt stand-ins with
the same text: ctkCollapsibleButton -> QGroupBox (its title), qMRMLNodeComboBox -> QComboBox showing an example
node name (or its "none" text), qMRMLSegmentEditorWidget -> a framed label, qMRMLWidget -> QWidget. Each picture
carries a caption saying so. Replace them with real Slicer screenshots when a Slicer is at hand.

Needs PySide6 (PySide6-Essentials), which the project itself does not use; run it from a throwaway environment:

    python3 -m venv /tmp/qtvenv && /tmp/qtvenv/bin/pip install PySide6-Essentials
    QT_QPA_PLATFORM=offscreen /tmp/qtvenv/bin/python Resources/Screenshots/draw_panels.py
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtUiTools import QUiLoader
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QVBoxLayout, QWidget

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = Path(__file__).resolve().parent
MODULES = ("DiscSegmenter", "DiscMeasure")
PANEL_WIDTH = 420
CAPTION = "Panel layout drawn from {ui} with Qt stand-ins for Slicer widgets (not a Slicer screenshot)"

# Slicer / CTK class -> the plain Qt class drawn in its place
STAND_INS = {
    "qMRMLWidget": "QWidget",
    "ctkCollapsibleButton": "QGroupBox",
    "qMRMLNodeComboBox": "QComboBox",
    "qMRMLSegmentEditorWidget": "QLabel",
}
# properties only Slicer's widgets know (dropped so QUiLoader does not warn about them)
SLICER_ONLY_PROPERTIES = {
    "nodeTypes",
    "showChildNodeTypes",
    "addEnabled",
    "removeEnabled",
    "renameEnabled",
    "noneEnabled",
    "noneDisplay",
    "SlicerParameterName",
    "collapsed",
}
# what a node selector shows in the picture: an example node of the bundled sample case
EXAMPLE_NODES = {
    "inputVolumeSelector": "synthetic_lumbar_t2",
    "segmentationSelector": "synthetic_lumbar_t2 segmentation",
    "sourceVolumeSelector": "synthetic_lumbar_t2",
}
# buttons the modules enable once the inputs above are chosen (the .ui starts them disabled)
ENABLED_WITH_INPUTS = ("applyButton", "computeButton")
SEGMENT_EDITOR_TEXT = (
    "Segment Editor (Slicer's embedded qMRMLSegmentEditorWidget):\n"
    "segment list, effects (Paint, Erase, Scissors, Islands, ...), undo / redo"
)


def _property(widget: ET.Element, name: str):
    for p in widget.findall("property"):
        if p.get("name") == name:
            return p
    return None


def _string_value(widget: ET.Element, name: str) -> str:
    p = _property(widget, name)
    s = None if p is None else p.find("string")
    return (s.text or "") if s is not None else ""


def _set_string(widget: ET.Element, name: str, text: str) -> None:
    p = _property(widget, name)
    if p is None:
        p = ET.SubElement(widget, "property", {"name": name})
    for child in list(p):
        p.remove(child)
    ET.SubElement(p, "string").text = text


def plain_qt_ui(ui_path: Path) -> tuple[bytes, dict]:
    """The .ui rewritten with plain Qt stand-ins, and {combo box name: the text it shows}."""
    tree = ET.parse(ui_path)
    root = tree.getroot()
    combo_texts = {}
    for w in root.iter("widget"):
        cls = w.get("class")
        name = w.get("name")
        if cls == "qMRMLNodeComboBox":
            combo_texts[name] = EXAMPLE_NODES.get(name) or _string_value(w, "noneDisplay") or "(node)"
        elif cls == "ctkCollapsibleButton":
            title = _string_value(w, "text")
            w.remove(_property(w, "text"))
            _set_string(w, "title", title)
        elif cls == "qMRMLSegmentEditorWidget":
            _set_string(w, "text", SEGMENT_EDITOR_TEXT)
        for p in list(w.findall("property")):
            if p.get("name") in SLICER_ONLY_PROPERTIES:
                w.remove(p)
        if cls in STAND_INS:
            w.set("class", STAND_INS[cls])
    for tag in ("customwidgets", "connections"):
        for el in root.findall(tag):
            root.remove(el)
    return ET.tostring(root, encoding="utf-8"), combo_texts


def shipped_model_names() -> list[str]:
    """Model names as the DiscSegmenter panel lists them (from models/manifest.json)."""
    manifest = json.loads((REPO / "models" / "manifest.json").read_text(encoding="utf-8"))
    return [m["name"] for m in manifest["models"]]


def load_panel(ui_bytes: bytes) -> QWidget:
    data = QByteArray(ui_bytes)
    buf = QBuffer(data)
    buf.open(QIODevice.ReadOnly)
    widget = QUiLoader().load(buf)
    buf.close()
    if widget is None:
        raise RuntimeError("QUiLoader could not build the panel")
    return widget


def draw(module: str) -> Path:
    ui_path = REPO / module / "Resources" / "UI" / f"{module}.ui"
    ui_bytes, combo_texts = plain_qt_ui(ui_path)
    panel = load_panel(ui_bytes)
    for name, text in combo_texts.items():
        combo = panel.findChild(QComboBox, name)
        combo.clear()
        combo.addItem(text)
    models = panel.findChild(QComboBox, "modelComboBox")
    if models is not None:
        models.addItems(shipped_model_names())
    for name in ENABLED_WITH_INPUTS:
        button = panel.findChild(QWidget, name)
        if button is not None:
            button.setEnabled(True)
    editor = panel.findChild(QLabel, "segmentEditorWidget")
    if editor is not None:  # framed like a widget area, tall enough to read as the editor
        editor.setFrameShape(QLabel.StyledPanel)
        editor.setAlignment(Qt.AlignCenter)
        editor.setWordWrap(True)
        editor.setMinimumHeight(160)
    frame = QWidget()
    frame.setStyleSheet("background: white;")
    layout = QVBoxLayout(frame)
    title = QLabel(f"<b>{module}</b>")
    layout.addWidget(title)
    layout.addWidget(panel)
    caption = QLabel(CAPTION.format(ui=ui_path.relative_to(REPO).as_posix()))
    caption.setWordWrap(True)
    caption.setStyleSheet("color: #666; font-size: 10px;")
    layout.addWidget(caption)
    frame.setFixedWidth(PANEL_WIDTH)
    frame.adjustSize()
    frame.show()
    QApplication.processEvents()
    out = OUT_DIR / f"{module}.png"
    if not frame.grab().save(str(out), "PNG"):
        raise RuntimeError(f"could not write {out}")
    return out


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed; read when the application starts
    app = QApplication.instance() or QApplication(sys.argv)
    for module in MODULES:
        print(draw(module))
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
