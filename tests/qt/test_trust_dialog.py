"""The trust dialog: a model file that would run code opens only when the user says so, and
the answer is remembered for that exact file (by its hash) only when asked to."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.state.explorer_state import ExplorerState
from explorer.qt import controller as controller_module
from explorer.qt.model_class_dialog import ModelClassDialog
from explorer.qt.trust_dialog import REMEMBER_TEXT, RUN_TEXT, TrustDialog, TrustedFiles, TrustGate
from explorer_models import ModelInfo, VAEConfig, build_model, save_checkpoint
from explorer_models.sources import ModelSource, TrustRequired, as_source, file_sha256

ONE_CLASS = "class Net:\n    def encode(self, x): ...\n    def decode(self, z): ...\n"
REAL_CLASS = """
import torch
from torch import nn


class TinyVAE(nn.Module):
    image_shape = (3, 64, 64)

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.enc = nn.Linear(3 * 64 * 64, 6)
        self.dec = nn.Linear(3, 3 * 64 * 64)

    def encode(self, x):
        return self.enc(x.flatten(1)).chunk(2, dim=1)

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).reshape(-1, 3, 64, 64)
"""


@pytest.fixture
def files(tmp_path, isolated_cache, monkeypatch):
    """Two tiny checkpoints (2 and 4 latent dimensions), a .npz of 80 images, a Python file."""
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, images=(255 * rng.random((80, 64, 64, 3))).astype(np.uint8))
    hashes = {}
    for name, dim in (("a", 2), ("b", 4)):
        torch.manual_seed(dim)
        model = build_model(VAEConfig("mlp", (3, 64, 64), latent_dim=dim, widths=(16,)), ModelInfo(name=name))
        hashes[name] = save_checkpoint(model, tmp_path / f"{name}.safetensors")
    py = tmp_path / "net.py"
    py.write_text(ONE_CLASS)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a: ("", ""))  # no weights
    return tmp_path, data, py, hashes


def open_form(w, py) -> None:
    """Open a Python model file as a user does: the class form comes up; they press Open."""
    w.opener.open_model_path(str(py))
    form = w.findChild(ModelClassDialog)
    assert form is not None and form.isVisible()
    form.open_button.click()


def wait_for_model(qtbot, w, content_hash: str) -> None:
    qtbot.waitUntil(
        lambda: w.state.ready and w.state.model_info.content_hash == content_hash and w.controller.idle,
        timeout=60_000,
    )


def test_the_dialog_says_plainly_what_opening_does(qtbot, tmp_path):
    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    path = tmp_path / "<b>net</b>.py"
    dialog = TrustDialog(TrustRequired(path, "a Python file", "ab" * 32), parent)
    assert dialog.text() == f"This file can run code on this computer:\n{path}"  # plain text: the <b> shows as typed
    assert dialog.informativeText().startswith("It is a Python file. Opening it runs its code with your permissions")
    assert {b.text().replace("&", "") for b in dialog.buttons()} == {RUN_TEXT, "Cancel"}
    assert dialog.defaultButton() is dialog.cancel_button
    assert dialog.checkBox().text() == REMEMBER_TEXT and not dialog.checkBox().isChecked()
    answers = []
    dialog.answered.connect(lambda trusted, remember: answers.append((trusted, remember)))
    dialog.open()
    dialog.remember_box.setChecked(True)
    dialog.cancel_button.click()
    assert answers == [(False, False)]  # "remember" means nothing without trust


def test_remembered_hashes_survive_an_ini_file(settings):
    trusted = TrustedFiles(settings)
    trusted.remember("a" * 64)
    settings.sync()
    again = TrustedFiles(type(settings)(settings.fileName(), settings.format()))
    assert "a" * 64 in again and "b" * 64 not in again and "" not in again
    trusted.remember("")
    assert again.hashes() == ["a" * 64]


def test_a_file_that_runs_code_asks_first_and_remembers_only_when_told(open_window, qtbot, monkeypatch, files):
    folder, data, py, hashes = files
    real, loads = controller_module.load_model, []

    def load_model(spec):  # net.py stands for b.safetensors, behind the trust gate a .py file has
        source = as_source(spec)
        if not source.spec.startswith(str(py)):
            return real(source)
        loads.append(source)
        if file_sha256(py) not in source.trusted_files:  # as the real loader: these exact bytes, or ask
            raise TrustRequired(py, "a Python file", file_sha256(py))
        return real(str(folder / "b.safetensors"))

    monkeypatch.setattr(controller_module, "load_model", load_model)
    w = open_window(str(folder / "a.safetensors"), str(data))
    asked = []
    w.trust.asked.connect(asked.append)
    coords = w.state.coords.copy()

    # Cancel: nothing runs, the model shown stays
    open_form(w, py)
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=20_000)
    dialog = asked[0]
    assert dialog.isVisible() and str(py) in dialog.text() and not dialog.remember_box.isChecked()
    assert loads == [ModelSource(f"{py}:Net")]
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: w.controller.idle)
    assert "not opened" in w.statusBar().currentMessage() and w.trust.dialog is None
    assert [s.trusted_files for s in loads] == [frozenset()]
    assert w.state.model_info.content_hash == hashes["a"] and np.array_equal(w.state.coords, coords)
    assert settings_hashes(w) == []

    # trusted and remembered: opened trusting that file's hash, the hash kept
    open_form(w, py)
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=20_000)
    asked[1].remember_box.setChecked(True)
    asked[1].run_button.click()
    wait_for_model(qtbot, w, hashes["b"])
    assert loads[-1] == ModelSource(f"{py}:Net").trust_file(file_sha256(py)) and w.state.latent_dim == 4
    assert settings_hashes(w) == [file_sha256(py)]

    # the same file again: no question
    w.controller.open_model(str(folder / "a.safetensors"))
    wait_for_model(qtbot, w, hashes["a"])
    open_form(w, py)
    wait_for_model(qtbot, w, hashes["b"])
    assert len(asked) == 2 and [bool(s.trusted_files) for s in loads[-2:]] == [False, True]

    # the file changed: asked again; trusted without "remember", the next open asks once more
    py.write_text(ONE_CLASS + "# edited\n")
    w.controller.open_model(str(folder / "a.safetensors"))
    wait_for_model(qtbot, w, hashes["a"])
    open_form(w, py)
    qtbot.waitUntil(lambda: len(asked) == 3, timeout=20_000)
    asked[2].run_button.click()
    wait_for_model(qtbot, w, hashes["b"])
    assert file_sha256(py) not in settings_hashes(w)
    w.controller.open_model(str(folder / "a.safetensors"))
    wait_for_model(qtbot, w, hashes["a"])
    open_form(w, py)
    qtbot.waitUntil(lambda: len(asked) == 4, timeout=20_000)
    asked[3].cancel_button.click()
    assert w.state.model_info.content_hash == hashes["a"]
    # Recent keeps what opened, never its trust: reopening the .py entry asks (the edited file is not remembered)
    entry = next(e for e in w.opener.recent.entries() if e["source"].get("spec") == f"{py}:Net")
    assert "trusted" not in entry["source"]
    w.opener.open_entry(entry)
    qtbot.waitUntil(lambda: len(asked) == 5, timeout=20_000)
    asked[4].cancel_button.click()
    qtbot.waitUntil(lambda: w.controller.idle)


def settings_hashes(w) -> list[str]:
    return TrustedFiles(w.settings).hashes()


def test_a_real_python_model_dropped_on_the_window_opens_once_trusted(open_window, qtbot, files, monkeypatch):
    folder, data, _, hashes = files
    py = folder / "tiny_vae.py"
    py.write_text(REAL_CLASS)
    w = open_window(str(folder / "a.safetensors"), str(data))
    asked = []
    w.trust.asked.connect(asked.append)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(py))])
    args = (QtCore.Qt.DropAction.CopyAction, mime, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier(0))
    point = w.centralWidget().rect().center()
    enter = QtGui.QDragEnterEvent(point, *args)
    QtWidgets.QApplication.sendEvent(w.centralWidget(), enter)
    assert enter.isAccepted()
    QtWidgets.QApplication.sendEvent(w.centralWidget(), QtGui.QDropEvent(QtCore.QPointF(point), *args))
    form = w.findChild(ModelClassDialog)
    assert form.cls.currentText() == "TinyVAE"
    form.open_button.click()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=30_000)
    assert w.state.model_info.content_hash == hashes["a"]  # nothing of the file ran yet
    asked[0].run_button.click()
    qtbot.waitUntil(lambda: w.state.ready and w.state.latent_dim == 3 and w.controller.idle, timeout=60_000)
    assert w.state.model_info.name == "TinyVAE"
    assert w.controller.model_source == ModelSource(f"{py}:TinyVAE").trust_file(file_sha256(py))


def test_a_newer_question_replaces_an_unanswered_one(qtbot, settings, tmp_path):
    class Stub(QtCore.QObject):
        trust_required = QtCore.Signal(object, object)

    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    controller, opened = Stub(), []
    controller.state, controller.open_model = ExplorerState(), opened.append
    gate = TrustGate(controller, settings, window)
    first, second = ModelSource("first.pt"), ModelSource("second.pt")
    controller.trust_required.emit(first, TrustRequired(tmp_path / "first.pt", "a TorchScript archive", "1" * 64))
    old = gate.dialog
    controller.trust_required.emit(second, TrustRequired(tmp_path / "second.pt", "a pickled model", "2" * 64))
    assert not old.isVisible() and gate.dialog is not old and "second.pt" in gate.dialog.text()
    gate.dialog.remember_box.setChecked(True)
    gate.dialog.run_button.click()
    assert opened == [second.trust_file("2" * 64)] and gate.dialog is None
    assert TrustedFiles(settings).hashes() == ["2" * 64]
    controller.trust_required.emit(second, TrustRequired(tmp_path / "second.pt", "a pickled model", "2" * 64))
    assert opened == [second.trust_file("2" * 64)] * 2 and gate.dialog is None  # remembered: not asked
