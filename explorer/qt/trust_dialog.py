"""Asking before a model file runs code on this computer, and remembering the answer for that
exact file (its SHA-256: an edited or replaced file asks again).

The controller answers a load that needs trust with trust_required(source, error); the gate
opens the source again trusting that one file (by its hash) at once when the user said yes to
these very bytes before, and asks with a dialog that does not block (open(), not exec())
otherwise. A model of two such files (a .py and pickled weights) asks for each.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from explorer.qt.controller import Controller
from explorer_models.sources import ModelSource, TrustRequired

TRUST_KEY = "trust/sha256"
MAX_REMEMBERED = 500  # hashes kept; the oldest answers are forgotten first
RUN_TEXT = "Open and run its code"
REMEMBER_TEXT = "Remember my answer for this exact file"


class TrustedFiles:
    """The hashes of files the user chose to trust for good, in the window's QSettings."""

    def __init__(self, settings: QtCore.QSettings):
        self.settings = settings

    def hashes(self) -> list[str]:
        value = self.settings.value(TRUST_KEY, [])
        if isinstance(value, str):  # an ini file reads a list of one back as a string
            value = [value]
        return [str(v) for v in value or [] if v]

    def __contains__(self, sha256: str) -> bool:
        return bool(sha256) and sha256 in self.hashes()

    def remember(self, sha256: str) -> None:
        if not sha256:  # a file that could not be read has no hash to match later
            return
        hashes = [h for h in self.hashes() if h != sha256] + [sha256]
        self.settings.setValue(TRUST_KEY, hashes[-MAX_REMEMBERED:])
        self.settings.sync()


class TrustDialog(QtWidgets.QMessageBox):
    """'This file can run code on this computer': run it, or cancel. answered(trusted, remember)."""

    answered = QtCore.Signal(bool, bool)

    def __init__(self, error: TrustRequired, parent: QtWidgets.QWidget):
        super().__init__(QtWidgets.QMessageBox.Icon.Warning, "vae-explorer", "", parent=parent)
        self.setObjectName("trustDialog")
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # a file name is shown as it is, never as markup
        self.setText(f"This file can run code on this computer:\n{error.path}")
        self.setInformativeText(
            f"It is {error.what}. Opening it runs its code with your permissions: it could read, change or "
            f"delete your files. Open it only if you trust where it came from."
        )
        self.run_button = self.addButton(RUN_TEXT, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        self.cancel_button = self.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.cancel_button)  # Enter must not run a stranger's code
        self.setEscapeButton(self.cancel_button)
        self.remember_box = QtWidgets.QCheckBox(REMEMBER_TEXT)
        self.setCheckBox(self.remember_box)
        self.finished.connect(self._on_finished)

    def _on_finished(self) -> None:
        trusted = self.clickedButton() is self.run_button
        self.answered.emit(trusted, trusted and self.remember_box.isChecked())
        self.deleteLater()


class TrustGate(QtCore.QObject):
    """Connects the controller's trust_required to the dialog and the remembered answers."""

    asked = QtCore.Signal(object)  # the TrustDialog just opened (tests drive it)

    def __init__(self, controller: Controller, settings: QtCore.QSettings, parent: QtWidgets.QWidget):
        super().__init__(parent)
        self.controller, self.window = controller, parent
        self.trusted = TrustedFiles(settings)
        self.dialog: TrustDialog | None = None
        controller.trust_required.connect(self.on_trust_required)

    def on_trust_required(self, source: ModelSource, error: TrustRequired) -> None:
        if error.sha256 in self.trusted:
            self.controller.state.say(f"{error.path}: trusted by your earlier answer for this exact file")
            self.controller.open_model(source.trust_file(error.sha256))
            return
        if self.dialog is not None:  # a newer file to ask about: the older question lapses, unanswered
            self.dialog.answered.disconnect()
            self.dialog.reject()
        self.dialog = TrustDialog(error, self.window)
        self.dialog.answered.connect(lambda trusted, remember: self._on_answer(source, error, trusted, remember))
        self.dialog.open()
        self.asked.emit(self.dialog)

    def _on_answer(self, source: ModelSource, error: TrustRequired, trusted: bool, remember: bool) -> None:
        self.dialog = None
        if not trusted:
            self.controller.state.say(f"not opened: {error.path} (its code was not run)")
            return
        if remember:
            self.trusted.remember(error.sha256)
        self.controller.open_model(source.trust_file(error.sha256))
