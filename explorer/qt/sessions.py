"""Open and save sessions, and export the map selection, from the window.

Opening a session opens its model and dataset; once the map is ready the session is checked
against them and applied, or (when either changed on disk) the user is told and nothing of it
is restored.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from explorer.core.io import session as S
from explorer.core.io.selection_export import export_selection
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.controller import Controller
from explorer.qt.dialogs import warn
from explorer_models.errors import UserInputError


class SessionKeeper(QtCore.QObject):
    restored = QtCore.Signal(str)  # the session file, once applied
    refused = QtCore.Signal(str)  # why a session was not applied

    def __init__(self, state: ExplorerState, controller: Controller, parent: QtWidgets.QWidget):
        super().__init__(parent)
        self.state, self.controller, self.window = state, controller, parent
        self._pending: tuple[str, dict] | None = None
        state.projection_changed.connect(self._apply_pending)

    # -- open ------------------------------------------------------------------------------
    def open(self, path: str) -> bool:
        """Read the session now; open its model and data; apply it when the map is ready."""
        s = self.state
        try:
            doc = S.load(path)
            if s.ready and not S.mismatches(doc, s.model_info.content_hash, s.dataset.fingerprint):
                S.check_restorable(s, doc, str(path))  # the same model and data: checked before they reload
        except UserInputError as e:
            self._warn("Could not open the session.", str(e))
            return False
        self._pending = (str(path), doc)
        self.controller.offer_label_vectors = False  # the session brings its own vectors
        self.controller.open(S.model_source(doc), doc["data"]["spec"], doc["data"].get("labels"))
        return True

    def _apply_pending(self) -> None:
        if self._pending is None or not self.state.ready:
            return
        (path, doc), self._pending = self._pending, None
        s = self.state
        problems = S.mismatches(doc, s.model_info.content_hash, s.dataset.fingerprint)
        try:
            if problems:
                raise S.SessionError(
                    "; ".join(problems) + ". Its points, keyframes and vectors were not restored, "
                    "since they would show wrong pictures."
                )
            S.restore(s, doc, path)
        except UserInputError as e:
            self.controller.offer_label_vectors = True
            self.controller.offer_label_vectors_now()
            self._warn(f"The session {Path(path).name} was not restored.", str(e))
            self.refused.emit(str(e))
            return
        # the session's vectors are in; a dataset opened later gets its own label vectors
        self.controller.offer_label_vectors = True
        s.say(f"restored session {path}")
        self.restored.emit(path)

    # -- save and export -------------------------------------------------------------------
    def save(self, path: str) -> bool:
        if not self.state.ready:
            self.state.say("nothing to save yet: the dataset is still being encoded")
            return False
        try:
            written = S.save(path, S.capture(self.state))
        except UserInputError as e:
            self._warn("Could not save the session.", str(e))
            return False
        self.state.say(f"saved session {written}")
        return True

    def export_selection(self, path: str) -> int:
        s = self.state
        try:
            n = export_selection(path, s.dataset, s.encodings, s.selection, force=True)
        except UserInputError as e:
            self._warn("Could not export the selection.", str(e))
            return 0
        s.say(f"exported {n:,} selected points to {path}")
        return n

    def ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Open a session", "", f"Sessions (*{S.SUFFIX});;All files (*)"
        )
        if path:
            self.open(path)

    def ask_save(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Save the session", f"explorer{S.SUFFIX}", f"Sessions (*{S.SUFFIX})"
        )
        if path:
            self.save(path if path.endswith(S.SUFFIX) else path + S.SUFFIX)

    def ask_export_selection(self) -> None:
        if not any(len(v) for v in self.state.selection.values()):
            self.state.say("nothing is selected: use Select A / Select B in the Attributes panel")
            return
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export the selected points", "selection.csv", "CSV (*.csv);;NumPy (*.npz)"
        )
        if path:
            if Path(path).suffix.lower() not in (".csv", ".npz"):
                path += ".npz" if "npz" in chosen else ".csv"
            self.export_selection(path)

    def _warn(self, text: str, detail: str) -> None:
        self.state.say(detail)
        warn(self.window, text, detail)
