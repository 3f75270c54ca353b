"""File > Recent: the last models and datasets that opened, newest first, kept in the window's
QSettings as JSON.

A model entry keeps its whole ModelSource (SPEC, weights, constructor arguments …) but never
`trusted`: a file that runs code is trusted again by its remembered hash or by the dialog.
Only what loaded enters the list; entries whose file is gone are shown disabled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from explorer_models.errors import ModelSpecError
from explorer_models.loading import BUILTIN_PREFIX, split_class_spec
from explorer_models.sources import ModelSource

RECENT_KEY = "recent/items"
MAX_RECENT = 10
MODEL, DATASET = "model", "dataset"


def _absolute(path_text: str) -> str:
    return path_text if not path_text or path_text.startswith(BUILTIN_PREFIX) else str(Path(path_text).absolute())


def _absolute_spec(spec: str) -> str:
    """A SPEC that still names the same file when the app starts in another folder."""
    path, class_name = split_class_spec(spec)
    return _absolute(path) + (f":{class_name}" if class_name else "")


def model_entry(source: ModelSource) -> dict:
    """A model's entry: its spec and options (ModelSource.options), never its trust."""
    options = source.options()
    if "weights" in options:
        options["weights"] = _absolute(options["weights"])
    return {"kind": MODEL, "source": {"spec": _absolute_spec(source.spec), **options}}


def dataset_entry(spec: str) -> dict:
    return {"kind": DATASET, "spec": _absolute(spec)}


def entry_source(entry: dict) -> ModelSource:
    """The ModelSource a model entry names (untrusted); TypeError/ValueError for a damaged one."""
    fields = dict(entry["source"])
    spec = fields.pop("spec")
    try:
        return ModelSource.from_options(spec, fields)
    except ModelSpecError as e:
        raise ValueError(str(e)) from None


def entry_files(entry: dict) -> list[str]:
    """The files an entry needs (none for a built-in)."""
    if entry["kind"] == DATASET:
        spec = entry["spec"]
        return [] if spec.startswith(BUILTIN_PREFIX) else [spec]
    source = entry_source(entry)
    path, _ = split_class_spec(source.spec)
    return [p for p in (path, source.weights) if p and not p.startswith(BUILTIN_PREFIX)]


def entry_exists(entry: dict) -> bool:
    return all(os.path.exists(p) for p in entry_files(entry))


def entry_title(entry: dict) -> str:
    if entry["kind"] == DATASET:
        spec = entry["spec"]
        return f"Dataset: {spec if spec.startswith(BUILTIN_PREFIX) else Path(spec).name}"
    source = entry_source(entry)
    path, class_name = split_class_spec(source.spec)
    name = path if path.startswith(BUILTIN_PREFIX) else Path(path).name
    return f"Model: {name}{f':{class_name}' if class_name else ''}"


def entry_detail(entry: dict) -> str:
    return entry["spec"] if entry["kind"] == DATASET else entry_source(entry).describe()


class RecentList:
    """The list itself, read from and written to the settings at each change."""

    def __init__(self, settings: QtCore.QSettings):
        self.settings = settings

    def entries(self) -> list[dict]:
        try:
            entries = json.loads(str(self.settings.value(RECENT_KEY, "[]")))
            return [e for e in entries if self._readable(e)][:MAX_RECENT]
        except (ValueError, TypeError):
            return []  # a damaged list is forgotten, not a reason to fail at start

    @staticmethod
    def _readable(entry) -> bool:
        try:
            entry_title(entry)
            return True
        except (KeyError, TypeError, ValueError, AttributeError):
            return False

    def add(self, entry: dict) -> None:
        entries = [entry] + [e for e in self.entries() if e != entry]
        self._write(entries[:MAX_RECENT])

    def clear(self) -> None:
        self._write([])

    def _write(self, entries: list[dict]) -> None:
        self.settings.setValue(RECENT_KEY, json.dumps(entries))
        self.settings.sync()


class RecentMenu(QtWidgets.QMenu):
    """The submenu; rebuilt when shown, so a file deleted meanwhile shows disabled."""

    def __init__(self, recent: RecentList, open_entry: Callable[[dict], None], parent: QtWidgets.QWidget):
        super().__init__("Open &Recent", parent)
        self.recent, self.open_entry = recent, open_entry
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        for old in self.actions():  # later, not now: the one being triggered may be among them
            self.removeAction(old)
            old.deleteLater()
        entries = self.recent.entries()
        for n, entry in enumerate(entries, 1):
            exists = entry_exists(entry)
            title = entry_title(entry).replace("&", "&&")  # a file's own & is no shortcut
            action = QtGui.QAction(f"&{n % 10} {title}{'' if exists else ' (missing)'}", self)
            action.setToolTip(entry_detail(entry))
            action.setEnabled(exists)
            action.setData(json.dumps(entry))
            action.triggered.connect(lambda _=False, e=entry: self.open_entry(e))
            self.addAction(action)
        if not entries:
            none = self.addAction("(none yet)")
            none.setEnabled(False)
        self.addSeparator()
        clear = self.addAction("&Clear Recent")
        clear.setEnabled(bool(entries))
        clear.triggered.connect(self._clear)

    def entry_actions(self) -> list[QtGui.QAction]:
        return [a for a in self.actions() if a.data()]

    def _clear(self) -> None:
        self.recent.clear()
        self.rebuild()
