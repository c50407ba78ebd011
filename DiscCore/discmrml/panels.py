"""What the two module panels share without importing Qt (the widgets are passed in).

Binding the panel to its parameter node: ``parameterNodeWrapper``'s ``connectGui`` returns ``None`` on
Slicer 5.8.x (its ``_connectGui`` drops the tag that ``_connectParametersToGui`` returns; fixed in 5.10),
so ``disconnectGui(None)`` disconnects nothing and every entry into the module adds one more set of
bindings, which then fight over the widgets (the device choice falls back to "auto").
``connectParametersToGui`` returns its tag on every version, so :func:`connect_gui` finds the widgets
the way ``connectGui`` does and calls it.
"""

from __future__ import annotations

#: the .ui widget property that names a widget's parameter (slicer.parameterNodeWrapper reads the same)
PARAMETER_NAME_PROPERTY = "SlicerParameterName"


def parameter_widgets(ui) -> dict:
    """``{parameter name: widget}`` for the widgets of ``ui`` (``slicer.util.childWidgetVariables``) that
    carry the ``SlicerParameterName`` property."""
    found = {}
    for widget in vars(ui).values():
        getter = getattr(widget, "property", None)
        name = getter(PARAMETER_NAME_PROPERTY) if callable(getter) else None
        if name:
            found[str(name)] = widget
    return found


def connect_gui(parameter_node, ui):
    """Bind the panel's widgets to ``parameter_node``; returns the tag ``disconnectGui`` needs (never None)."""
    return parameter_node.connectParametersToGui(parameter_widgets(ui))


def disconnect_gui(parameter_node, tag) -> None:
    if parameter_node is not None and tag is not None:
        parameter_node.disconnectGui(tag)


def status_with_warning(status: str, warning: str) -> str:
    """A panel's status line, with the quality warning after it (one line: the label stays one line high)."""
    return f"{status} \u26a0 {warning}" if warning else status
