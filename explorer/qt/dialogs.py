"""The one way the window tells a user something went wrong: a status line and a warning box
that does not block (open(), not exec(): the window stays live behind it)."""

from __future__ import annotations

from PySide6 import QtWidgets


def warn(parent: QtWidgets.QWidget, text: str, detail: str = "") -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "vae-explorer", text, parent=parent)
    if detail:
        box.setInformativeText(detail)
    box.open()
    return box
