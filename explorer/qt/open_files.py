"""Opening models, datasets and sessions from the window: File > Open …, files dropped on it,
and File > Open Recent.

Every way in ends in open_model_path / open_dataset_path / the session keeper. A Python file
first asks which of its classes is the model (read by parsing, never by running it) and for
the class's weights and options, in one form (model_class_dialog.py). The dialogs a test cannot
answer (the native file dialogs) are QFileDialog's static calls, which tests replace; the others
do not block (open(), not exec()).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.controller import Controller
from explorer.qt.dialogs import warn
from explorer.qt.file_kinds import DROP_HELP, PYTHAE_MARKER, is_model_folder, plan_drop
from explorer.qt.model_class_dialog import ModelClassDialog
from explorer.qt.recent import MODEL, RecentList, RecentMenu, dataset_entry, entry_source, model_entry
from explorer.qt.sessions import SessionKeeper
from explorer_models.errors import ModelSpecError
from explorer_models.sources import IN_MEMORY_PREFIX, ModelSource
from explorer_models.user_code import candidate_classes

MODEL_FILTERS = ";;".join(
    (
        "All models (*.safetensors *.py *.pt *.pth *.ts *.pkl)",
        "vae-explorer checkpoints (*.safetensors)",
        "Python model classes (*.py)",
        "TorchScript and PyTorch files (*.pt *.pth *.ts *.pkl)",
    )
)
DATASET_FILTER = "Arrays of images (*.npy *.npz)"
FOLDER_KEY = "open/folder"  # where the last file dialog was answered: the next one starts there


class FileOpener(QtCore.QObject):
    def __init__(
        self,
        window: QtWidgets.QWidget,
        state: ExplorerState,
        controller: Controller,
        sessions: SessionKeeper,
        settings: QtCore.QSettings,
    ):
        super().__init__(window)
        self.window, self.state, self.controller, self.sessions = window, state, controller, sessions
        self.settings = settings
        self.recent = RecentList(settings)
        self.recent_menu = RecentMenu(self.recent, self.open_entry, window)
        self._shown_data_spec: str | None = None
        state.model_changed.connect(self._remember_model)
        state.data_changed.connect(self._remember_dataset)

    # -- File menu -------------------------------------------------------------------------
    def ask_model(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open a model", self._folder(), MODEL_FILTERS)
        if path:
            self._keep_folder(path)
            self.open_model_path(path)

    def ask_model_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open a pythae model folder", self._folder())
        if not path:
            return
        self._keep_folder(path)
        if not is_model_folder(path):
            self._warn("Not a model folder.", f"{path} holds no {PYTHAE_MARKER} (a pythae model folder has one).")
            return
        self.open_model_path(path)

    def ask_dataset_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open a folder of images", self._folder())
        if path:
            self._keep_folder(path)
            self.open_dataset_path(path)

    def ask_dataset_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Open an array of images", self._folder(), DATASET_FILTER
        )
        if path:
            self._keep_folder(path)
            self.open_dataset_path(path)

    # -- opening ---------------------------------------------------------------------------
    def open_model_path(self, path: str, data_spec: str | None = None) -> None:
        """Open the model file or folder `path` (a Python file asks for its class and weights
        first); with `data_spec`, that dataset is opened with it."""
        if Path(path).suffix.lower() == ".py":
            self.open_python(path, data_spec)
        else:
            self.open_source(ModelSource(path), data_spec)

    def open_python(self, path: str, data_spec: str | None = None) -> ModelClassDialog | None:
        """A Python file: the form for its class (found by parsing, never by running the file),
        weights and options; returned, open. None (and a warning) when it offers no class."""
        try:
            classes = candidate_classes(Path(path))
        except ModelSpecError as e:
            self._warn("Could not open the model.", str(e))
            return None
        if not classes:
            self._warn(
                "No model class found.",
                f"{path} defines no model class at its top level: none has encode and decode methods, and "
                f"none derives from another class that could give them.",
            )
            return None
        dialog = ModelClassDialog(Path(path), classes, self.window)
        dialog.chosen.connect(lambda source: self.open_source(source, data_spec))
        dialog.open()
        return dialog

    def open_source(self, source: ModelSource, data_spec: str | None = None) -> None:
        if data_spec is None:
            self.controller.open_model(source)
        else:
            self.controller.open(source, data_spec)

    def open_dataset_path(self, path: str) -> None:
        self.controller.open_dataset(path)

    def open_paths(self, paths: list[str]) -> None:
        """Files dropped on the window: a model, a dataset (or both), or a session."""
        plan = plan_drop(paths)
        if plan.session is not None:
            self.sessions.open(plan.session)
        elif plan.model is not None:
            self.open_model_path(plan.model, plan.dataset)
        elif plan.dataset is not None:
            self.open_dataset_path(plan.dataset)
        if plan.ignored:
            self.state.say(f"one at a time: not opened {', '.join(map(_name, plan.ignored))}")
        if plan.unknown:
            names = ", ".join(map(_name, plan.unknown))
            self._warn(
                f"Cannot open {names}.",
                f"{'; '.join(plan.unknown)}: not a kind of file the explorer opens. Drop {DROP_HELP}.",
            )

    def open_entry(self, entry: dict) -> None:
        """An entry of File > Open Recent."""
        if entry["kind"] == MODEL:
            self.open_source(entry_source(entry))
        else:
            self.open_dataset_path(entry["spec"])

    # -- recent ----------------------------------------------------------------------------
    def _remember_model(self) -> None:
        source = self.controller.model_source
        if source is not None and not source.spec.startswith(IN_MEMORY_PREFIX):  # nothing to reopen
            self.recent.add(model_entry(source))
            self.recent_menu.rebuild()

    def _remember_dataset(self) -> None:
        """A dataset other than the one shown before (reopened for a new model, it stays where it is)."""
        dataset = self.state.dataset
        if dataset is not None and dataset.spec != self._shown_data_spec:
            self._shown_data_spec = dataset.spec
            if dataset.spec.startswith(IN_MEMORY_PREFIX):
                return
            self.recent.add(dataset_entry(dataset.spec))
            self.recent_menu.rebuild()

    # -- helpers ---------------------------------------------------------------------------
    def _folder(self) -> str:
        return str(self.settings.value(FOLDER_KEY, ""))

    def _keep_folder(self, path: str) -> None:
        self.settings.setValue(FOLDER_KEY, str(Path(path).parent))

    def _warn(self, text: str, detail: str) -> None:
        self.state.say(detail)
        warn(self.window, text, detail)


def _name(path: str) -> str:
    return Path(path).name or path


def dropped_paths(mime) -> list[str]:
    """The local files of a drag (a QMimeData); [] when it carries none."""
    if not mime.hasUrls():
        return []
    return [os.path.normpath(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
