"""Opening models and datasets from the window: File > Open … (every format, a Python file's
class and weights), files dropped on the window, File > Open Recent.

The window tests run on tiny MLP checkpoints (2 and 5 latent dimensions) and a .npz of 120
small images, in a cache of their own: they encode in a moment and leave nothing behind.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.state.explorer_state import ExplorerState
from explorer.qt import recent as R
from explorer.qt.file_kinds import DROP_HELP, Kind, classify, plan_drop
from explorer.qt.model_class_dialog import ModelClassDialog
from explorer.qt.open_files import FileOpener
from explorer_models import ModelInfo, VAEConfig, build_model, load_model, save_checkpoint, tensor_to_images
from explorer_models.sources import ModelSource

TWO_CLASSES = """
class First:
    def encode(self, x): ...
    def decode(self, z): ...

class Helper:
    def forward(self, x): ...

class Second:
    def encode(self, x): ...
    def decode(self, z): ...
"""


# -- what a file is (Qt-free) ----------------------------------------------------------------
def test_classify_tells_models_datasets_and_sessions_apart(tmp_path):
    pythae, images = tmp_path / "pythae", tmp_path / "pictures"
    pythae.mkdir()
    (pythae / "model_config.json").write_text("{}")
    images.mkdir()
    (images / "config.json").write_text("{}")  # a json file alone does not make a model folder
    expected = {
        "a.safetensors": Kind.MODEL,
        "net.py": Kind.MODEL,
        "net.PT": Kind.MODEL,
        "net.pth": Kind.MODEL,
        "net.ts": Kind.MODEL,
        "net.pkl": Kind.MODEL,
        "faces.npz": Kind.DATASET,
        "faces.npy": Kind.DATASET,
        "mine.vaesession": Kind.SESSION,
        "notes.txt": Kind.UNKNOWN,
        "noext": Kind.UNKNOWN,
    }
    assert {name: classify(tmp_path / name) for name in expected} == expected
    assert classify(pythae) is Kind.MODEL
    assert classify(images) is Kind.DATASET


def test_a_drop_opens_one_model_and_one_dataset_or_a_session_alone(tmp_path):
    plan = plan_drop(["a.safetensors", "b.pt", "d.npz", "x.txt"])
    assert (plan.model, plan.dataset, plan.session) == ("a.safetensors", "d.npz", None)
    assert plan.ignored == ["b.pt"] and plan.unknown == ["x.txt"]
    plan = plan_drop(["a.safetensors", "s.vaesession", "d.npz"])
    assert (plan.model, plan.dataset, plan.session) == (None, None, "s.vaesession")
    assert sorted(plan.ignored) == ["a.safetensors", "d.npz"]
    assert plan_drop(["x.txt"]).empty


# -- recent entries (Qt-free) -----------------------------------------------------------------
def test_a_recent_model_entry_keeps_the_whole_source_but_never_trust(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = ModelSource("net.py:Net", weights="w.pt", model_args='{"width": 8}', image_shape=(1, 28, 28), trusted=True)
    entry = json.loads(json.dumps(R.model_entry(source)))  # as the settings keep it
    assert "trusted" not in entry["source"]
    back = R.entry_source(entry)
    assert back == ModelSource(
        f"{tmp_path / 'net.py'}:Net",
        weights=str(tmp_path / "w.pt"),
        model_args='{"width": 8}',
        image_shape=(1, 28, 28),
        trusted=False,
    )
    assert R.entry_title(entry) == "Model: net.py:Net"
    assert not R.entry_exists(entry)
    (tmp_path / "net.py").write_text("")
    assert not R.entry_exists(entry)  # the weights are missing still
    (tmp_path / "w.pt").write_bytes(b"")
    assert R.entry_exists(entry)
    assert R.entry_exists(R.model_entry(ModelSource("builtin:faces")))
    assert R.dataset_entry("builtin:faces:test") == {"kind": "dataset", "spec": "builtin:faces:test"}


def test_the_recent_list_is_newest_first_without_duplicates_and_at_most_ten(settings):
    recent = R.RecentList(settings)
    for i in range(12):
        recent.add(R.dataset_entry(f"builtin:{i}"))
    recent.add(R.dataset_entry("builtin:5"))
    specs = [e["spec"] for e in R.RecentList(settings).entries()]  # read back from the settings
    assert specs == ["builtin:5", "builtin:11", "builtin:10", "builtin:9", "builtin:8"] + [
        f"builtin:{i}" for i in (7, 6, 4, 3, 2)
    ]
    settings.setValue(R.RECENT_KEY, "not json [")
    assert recent.entries() == []


# -- File > Open … steps, with a stand-in controller --------------------------------------------
class Recorder:
    """Stands in for the controller and the session keeper: records what would be opened."""

    def __init__(self, state):
        self.state, self.model_source, self.opened = state, None, []

    def open_model(self, source):
        self.opened.append(("model", source))

    def open(self, source, data_spec):
        self.opened.append(("model+data", source, data_spec))

    def open_dataset(self, spec):
        self.opened.append(("dataset", spec))


@pytest.fixture
def opener(qtbot, settings, monkeypatch):
    """A FileOpener on a bare widget; `asked` collects the file dialogs' (caption, filter) and
    `answers` gives their answers in turn."""
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    state = ExplorerState()
    controller = Recorder(state)
    sessions = SimpleNamespace(open=lambda path: controller.opened.append(("session", path)))
    o = FileOpener(window, state, controller, sessions, settings)
    o.asked, o.answers = [], []

    def get_file(parent, caption, folder, filters):
        o.asked.append((caption, filters))
        return (o.answers.pop(0), "")

    def get_folder(parent, caption, folder):
        o.asked.append((caption, None))
        return o.answers.pop(0)

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", get_file)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", get_folder)
    o.opened = controller.opened
    return o


def _boxes(widget) -> list[QtWidgets.QMessageBox]:
    return [b for b in widget.findChildren(QtWidgets.QMessageBox) if b.isVisible()]


def test_open_model_offers_every_format(opener, tmp_path):
    opener.answers = [str(tmp_path / "m.safetensors")]
    opener.ask_model()
    assert opener.asked[0][1].split(";;") == [
        "All models (*.safetensors *.py *.pt *.pth *.ts *.pkl)",
        "vae-explorer checkpoints (*.safetensors)",
        "Python model classes (*.py)",
        "TorchScript and PyTorch files (*.pt *.pth *.ts *.pkl)",
    ]
    assert opener.opened == [("model", ModelSource(str(tmp_path / "m.safetensors")))]
    opener.answers = [""]  # cancelled
    opener.ask_model()
    assert len(opener.opened) == 1
    assert opener.settings.value("open/folder") == str(tmp_path)  # the next dialog starts there


def _class_form(opener) -> ModelClassDialog:
    dialog = opener.window.findChild(ModelClassDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_a_python_file_opens_a_form_for_its_class_weights_and_options(opener, qtbot, tmp_path):
    net = tmp_path / "net.py"
    net.write_text(TWO_CLASSES + "\nraise SystemExit('parsing must never run this file')\n")
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    opener.answers = [str(net), str(weights)]
    opener.ask_model()
    dialog = _class_form(opener)
    assert [dialog.cls.itemText(i) for i in range(dialog.cls.count())] == ["First", "Second"]  # Helper has neither
    assert opener.opened == []  # nothing until the user opens
    dialog.cls.setCurrentText("Second")
    qtbot.mouseClick(dialog.browse, QtCore.Qt.MouseButton.LeftButton)
    assert opener.asked[1] == ("Weights for Second", "Weights (*.safetensors *.pt *.pth)")
    assert dialog.weights.text() == str(weights)
    dialog.model_args.setText('{"z_dim": 3')  # a typo: said in the form, which stays open
    dialog.open_button.click()
    assert dialog.isVisible() and "Arguments: not valid JSON" in dialog.problem.text() and opener.opened == []
    dialog.model_args.setText('{"z_dim": 3}')
    dialog.image_shape.setText("1,28")
    dialog.open_button.click()
    assert dialog.isVisible() and dialog.problem.text().startswith("Image shape '1,28': give channels,height,width")
    dialog.image_shape.setText("1,28,28")
    dialog.decoder.setCurrentIndex(dialog.decoder.findData("logits"))
    dialog.open_button.click()
    assert not dialog.isVisible()
    assert opener.opened == [
        (
            "model",
            ModelSource(f"{net}:Second", str(weights), '{"z_dim": 3}', (1, 28, 28), decoder_output="logits"),
        )
    ]


def test_a_python_file_with_one_class_opens_it_with_defaults(opener, tmp_path):
    net = tmp_path / "net.py"
    net.write_text("class Only:\n    def encode(self, x): ...\n    def decode(self, z): ...\n")
    dialog = opener.open_python(str(net))
    assert dialog.cls.currentText() == "Only" and dialog.weights.text() == ""
    dialog.weights.setText(str(tmp_path / "missing.pt"))
    dialog.open_button.click()
    assert dialog.problem.text() == f"Weights: {tmp_path / 'missing.pt'}: no such file" and opener.opened == []
    dialog.weights.clear()
    dialog.open_button.click()
    assert opener.opened == [("model", ModelSource(f"{net}:Only"))]


def test_cancelling_the_form_opens_nothing(opener, tmp_path):
    net = tmp_path / "net.py"
    net.write_text(TWO_CLASSES)
    dialog = opener.open_python(str(net))
    dialog.reject()
    assert opener.opened == [] and opener.asked == []


def test_a_python_file_without_a_model_class_or_not_python_is_a_warning(opener, tmp_path):
    plain, broken = tmp_path / "plain.py", tmp_path / "broken.py"
    plain.write_text("class Helper:\n    def encode(self, x): ...\n")
    broken.write_text("def (:\n")
    opener.open_model_path(str(plain))
    box = _boxes(opener.window)[-1]
    assert box.text() == "No model class found." and str(plain) in box.informativeText()
    opener.open_model_path(str(broken))
    box = _boxes(opener.window)[-1]
    assert "broken.py" in box.informativeText() and "not valid Python" in box.informativeText()
    assert opener.opened == []


def test_open_model_folder_wants_a_pythae_folder(opener, tmp_path):
    opener.answers = [str(tmp_path)]
    opener.ask_model_folder()
    assert "model_config.json" in _boxes(opener.window)[-1].informativeText() and opener.opened == []
    (tmp_path / "model_config.json").write_text("{}")
    opener.answers = [str(tmp_path)]
    opener.ask_model_folder()
    assert opener.opened == [("model", ModelSource(str(tmp_path)))]


def test_open_dataset_takes_a_folder_or_an_array_file(opener, tmp_path):
    opener.answers = [str(tmp_path), str(tmp_path / "d.npz")]
    opener.ask_dataset_folder()
    opener.ask_dataset_file()
    assert opener.opened == [("dataset", str(tmp_path)), ("dataset", str(tmp_path / "d.npz"))]
    assert opener.asked[1] == ("Open an array of images", "Arrays of images (*.npy *.npz)")


def test_dropped_files_open_by_kind(opener, tmp_path):
    net = tmp_path / "net.py"
    net.write_text("class Only:\n    def encode(self, x): ...\n    def decode(self, z): ...\n")
    opener.open_paths([str(net), str(tmp_path / "d.npz")])  # a model with its data: both open together
    _class_form(opener).open_button.click()
    opener.open_paths([str(tmp_path / "s.vaesession")])
    opener.open_paths([str(tmp_path / "d.npy")])
    assert opener.opened == [
        ("model+data", ModelSource(f"{net}:Only"), str(tmp_path / "d.npz")),
        ("session", str(tmp_path / "s.vaesession")),
        ("dataset", str(tmp_path / "d.npy")),
    ]
    opener.open_paths([str(tmp_path / "notes.txt")])
    box = _boxes(opener.window)[-1]
    assert box.text() == "Cannot open notes.txt." and DROP_HELP in box.informativeText()
    assert str(tmp_path / "notes.txt") in box.informativeText()
    assert len(opener.opened) == 3


# -- in the window -------------------------------------------------------------------------------
def _checkpoint(path, latent_dim: int, seed: int) -> str:
    """A tiny MLP VAE for 64x64 RGB images, saved; returns its content hash."""
    torch.manual_seed(seed)
    model = build_model(VAEConfig("mlp", (3, 64, 64), latent_dim=latent_dim, widths=(16,)), ModelInfo(name=path.stem))
    return save_checkpoint(model, path)


@pytest.fixture
def tiny(tmp_path, isolated_cache):
    """Two checkpoints (a: 2 latent dimensions, b: 5) and a .npz of 120 images with a 0/1 label."""
    rng = np.random.default_rng(0)
    level = rng.random((120, 1, 1, 1))
    images = (255 * level * rng.random((120, 64, 64, 3))).astype(np.uint8)
    data = tmp_path / "data.npz"
    np.savez(data, images=images, bright=(level.ravel() > 0.5).astype(np.int64))
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    return SimpleNamespace(a=a, b=b, data=data, a_hash=_checkpoint(a, 2, 0), b_hash=_checkpoint(b, 5, 1))


def settle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.controller.idle, timeout=30_000)


def wait_for_model(qtbot, w, content_hash: str) -> None:
    qtbot.waitUntil(
        lambda: w.state.ready and w.state.model_info.content_hash == content_hash and w.controller.idle,
        timeout=60_000,
    )
    settle(qtbot, w)


def drop(w, *paths) -> None:
    """Drag files onto the middle of the map and drop them, as the desktop does: the drag
    enters the widget under the pointer, which passes it up to the window."""
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    target = w.centralWidget()
    point = target.rect().center()
    args = (QtCore.Qt.DropAction.CopyAction, mime, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier(0))
    enter = QtGui.QDragEnterEvent(point, *args)
    QtWidgets.QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    dropped = QtGui.QDropEvent(QtCore.QPointF(point), *args)
    QtWidgets.QApplication.sendEvent(target, dropped)
    assert dropped.isAccepted()


def decoded_now(qtbot, w, mouse, index: int) -> np.ndarray:
    """Move onto data point `index` and wait for the decode of the cursor's latent; returns the image."""
    s = w.state
    mouse.move(s.coords[index])
    latent = s.cursor.latent.copy()
    qtbot.waitUntil(
        lambda: "cursor" in s.decoded and np.array_equal(s.decoded["cursor"].latents[0], latent), timeout=20_000
    )
    return s.decoded["cursor"].images[0]


def _decode(path, latent) -> np.ndarray:
    with torch.no_grad():
        return tensor_to_images(load_model(str(path)).decode(torch.from_numpy(latent[None])))[0]


def test_dropping_a_model_file_on_the_window_opens_it(open_window, qtbot, tiny):
    w = open_window(str(tiny.a), str(tiny.data))
    assert w.state.latent_dim == 2
    drop(w, tiny.b)
    wait_for_model(qtbot, w, tiny.b_hash)
    assert w.state.latent_dim == 5 and w.state.encodings.mu.shape == (120, 5)
    assert w.state.dataset.spec == str(tiny.data)  # the data stays, encoded by the new model
    assert w.controller.model_source == ModelSource(str(tiny.b))


def test_dropping_a_dataset_or_a_session_opens_it(open_window, qtbot, tiny, tmp_path, make_pictures):
    w = open_window(str(tiny.a), str(tiny.data))
    session = tmp_path / "s.vaesession"
    w.state.pin_data_point(7)
    assert w.sessions.save(str(session))
    folder = make_pictures(6, 64)
    drop(w, folder)
    qtbot.waitUntil(lambda: w.state.ready and w.state.dataset.spec == str(folder), timeout=60_000)
    assert len(w.state.dataset) == 6
    settle(qtbot, w)
    with qtbot.waitSignal(w.sessions.restored, timeout=60_000):
        drop(w, session)
    assert w.state.dataset.spec == str(tiny.data) and w.state.pinned.nearest == 7
    settle(qtbot, w)


def test_dropping_something_else_says_what_can_be_dropped(open_window, qtbot, tiny, tmp_path):
    w = open_window(str(tiny.a), str(tiny.data))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    drop(w, notes)
    box = _boxes(w)[-1]
    assert box.text() == "Cannot open notes.txt." and str(notes) in box.informativeText()
    assert DROP_HELP in box.informativeText()
    assert w.state.model_info.content_hash == tiny.a_hash and w.controller.idle


def test_a_damaged_model_file_is_reported_and_the_shown_model_and_map_stay_usable(
    open_window, qtbot, tiny, tmp_path, map_mouse
):
    w = open_window(str(tiny.a), str(tiny.data))
    s, mouse = w.state, map_mouse(w)
    coords, mu = s.coords.copy(), np.array(s.encodings.mu)
    before = decoded_now(qtbot, w, mouse, 3)
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    failures = []
    w.controller.failed.connect(lambda what, message: failures.append((what, message)))
    drop(w, bad)
    qtbot.waitUntil(lambda: bool(failures), timeout=20_000)
    what, message = failures[0]
    assert what == "model" and message.startswith(f"{bad}: not a readable .safetensors file")
    box = _boxes(w)[-1]
    assert box.text() == "Could not open the model." and box.informativeText() == message
    settle(qtbot, w)
    # the model shown before still is, with its map, and answers the cursor
    assert s.model_info.content_hash == tiny.a_hash and s.latent_dim == 2 and s.ready
    assert np.array_equal(s.coords, coords) and np.array_equal(np.asarray(s.encodings.mu), mu)
    assert w.controller.model_source == ModelSource(str(tiny.a))
    assert np.array_equal(decoded_now(qtbot, w, mouse, 5), _decode(tiny.a, s.cursor.latent))
    assert np.array_equal(decoded_now(qtbot, w, mouse, 3), before)
    assert [e["source"]["spec"] for e in w.opener.recent.entries() if e["kind"] == "model"] == [str(tiny.a)]


def test_switching_to_another_latent_size_and_back_leaves_nothing_stale(open_window, qtbot, tiny, map_mouse):
    w = open_window(str(tiny.a), str(tiny.data))
    s, mouse = w.state, map_mouse(w)
    first_coords = s.coords.copy()
    assert [v.name for v in s.sliders.vectors] == ["bright"]  # the 0/1 label's vector, offered at once
    s.pin_data_point(4)
    s.set_slider(0, 1.5)
    s.selection["A"] = np.arange(5)
    settle(qtbot, w)
    assert s.moved_latent.shape == (2,)

    def consistent(dim: int) -> None:
        assert s.latent_dim == dim
        assert s.encodings.mu.shape == (120, dim) and s.coords.shape == (120, 2)
        assert s.projection.axes.shape == (dim, 2) and s.projection.offset.shape == (dim,)
        assert [v.direction.shape for v in s.sliders.vectors] == [(dim,)]  # made anew for this model
        assert s.sliders.values == [0.0]
        assert s.pinned is None and s.cursor is None and s.moved_latent is None
        assert all(len(v) == 0 for v in s.selection.values())
        assert all(d.latents.shape[1] == dim for d in s.decoded.values())
        assert len(w.attribute_panel.findChildren(QtWidgets.QSlider)) >= 1

    w.controller.open_model(str(tiny.b))
    wait_for_model(qtbot, w, tiny.b_hash)
    qtbot.waitUntil(lambda: len(s.sliders.vectors) == 1, timeout=20_000)
    consistent(5)
    assert np.array_equal(decoded_now(qtbot, w, mouse, 2), _decode(tiny.b, s.cursor.latent))

    w.controller.open_model(str(tiny.a))
    wait_for_model(qtbot, w, tiny.a_hash)
    qtbot.waitUntil(lambda: len(s.sliders.vectors) == 1, timeout=20_000)
    consistent(2)
    assert np.allclose(s.coords, first_coords)  # the same model and data: the same map
    assert np.array_equal(decoded_now(qtbot, w, mouse, 2), _decode(tiny.a, s.cursor.latent))
    s.pin_data_point(4)
    s.set_slider(0, 1.0)
    qtbot.waitUntil(lambda: "cursor" in s.decoded and s.decoded["cursor"].latents.shape == (1, 2), timeout=20_000)
    settle(qtbot, w)


def test_open_recent_lists_what_opened_newest_first_and_reopens_it(open_window, qtbot, tiny):
    w = open_window(str(tiny.a), str(tiny.data))
    w.controller.open_model(str(tiny.b))
    wait_for_model(qtbot, w, tiny.b_hash)
    menu = w.opener.recent_menu
    menu.rebuild()
    titles = [a.text() for a in menu.entry_actions()]
    # the dataset, opened again for b, keeps its place
    assert titles == ["&1 Model: b.safetensors", "&2 Dataset: data.npz", "&3 Model: a.safetensors"]
    assert menu.entry_actions()[2].toolTip() == str(tiny.a)
    assert "Open &Recent" in [a.text() for a in w.menuBar().actions()[0].menu().actions()]

    menu.entry_actions()[2].trigger()
    wait_for_model(qtbot, w, tiny.a_hash)
    assert w.controller.model_source == ModelSource(str(tiny.a))
    titles = [a.text() for a in menu.entry_actions()]
    assert titles == ["&1 Model: a.safetensors", "&2 Model: b.safetensors", "&3 Dataset: data.npz"]
    assert [R.entry_title(e) for e in R.RecentList(w.settings).entries()] == [t[3:] for t in titles]  # kept

    tiny.b.unlink()
    menu.rebuild()
    gone = menu.entry_actions()[1]
    assert gone.text() == "&2 Model: b.safetensors (missing)" and not gone.isEnabled()
    clear = next(a for a in menu.actions() if a.text() == "&Clear Recent")
    clear.trigger()
    assert menu.entry_actions() == [] and R.RecentList(w.settings).entries() == []
