"""The window's small dialogs. None blocks (open(), not exec()): the window stays live behind
them, and a test answers them as a user would."""

from __future__ import annotations

from PySide6 import QtWidgets


def warn(parent: QtWidgets.QWidget, text: str, detail: str = "") -> QtWidgets.QMessageBox:
    """The one way the window tells a user something went wrong: a warning box (the caller
    puts the detail on the status line too)."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "vae-explorer", text, parent=parent)
    if detail:
        box.setInformativeText(detail)
    box.open()
    return box
