"""The window's small dialogs. None blocks (open(), not exec()): the window stays live behind
them, and a test answers them as a user would."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtWidgets


def warn(parent: QtWidgets.QWidget, text: str, detail: str = "") -> QtWidgets.QMessageBox:
    """The one way the window tells a user something went wrong: a warning box (the caller
    puts the detail on the status line too)."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "vae-explorer", text, parent=parent)
    if detail:
        box.setInformativeText(detail)
    box.open()
    return box


def choose(
    parent: QtWidgets.QWidget, title: str, label: str, items: list[str], then: Callable[[str], None]
) -> QtWidgets.QInputDialog:
    """One of `items`, from a list; then(item) once chosen, nothing on Cancel."""
    dialog = QtWidgets.QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setComboBoxItems(items)
    dialog.setComboBoxEditable(False)
    dialog.textValueSelected.connect(then)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
