"""Sessions and selection export from the window."""

import json

import numpy as np
import pytest
import torch
from PySide6 import QtWidgets

from explorer.cli import main as cli_main
from explorer_models import load_model, save_checkpoint


def _arrange(w, qtbot):
    qtbot.waitUntil(lambda: len(w.state.sliders.vectors) == 4, timeout=30_000)
    s = w.state
    s.pin_data_point(12)
    s.set_slider(0, 1.5)
    s.set_along_vector(1)
    s.set_colour("hat")
    s.select("B", np.array([5, 6]))
    s.strip.add_data_point(30)
    s.strip.add_data_point(31)
    s.strip.set_spec(steps=6, method="lerp")
    qtbot.waitUntil(lambda: w.controller.idle, timeout=30_000)  # the map and colouring come from the compute thread


def test_a_saved_session_reopens_as_it_was(open_window, qtbot, tmp_path):
    w = open_window()
    _arrange(w, qtbot)
    path = tmp_path / "mine.vaesession"
    assert w.sessions.save(str(path))
    before = w.state
    w.close()

    again = open_window(session=str(path), wait_ready=False)
    with qtbot.waitSignal(again.sessions.restored, timeout=60_000):
        pass
    s = again.state
    qtbot.waitUntil(lambda: again.controller.idle, timeout=30_000)  # no label vectors arrive on top of its own
    assert [v.name for v in s.sliders.vectors] == [v.name for v in before.sliders.vectors]
    assert s.sliders.values == [1.5, 0.0, 0.0, 0.0]
    assert s.projection_source == ("vector", 1) and again.controls.projection.currentText().startswith("along")
    assert s.colour_key == "hat" and again.controls.colour.currentText() == "hat"
    assert np.array_equal(s.pinned.latent, before.pinned.latent)
    assert s.selection["B"].tolist() == [5, 6]
    assert [k.index for k in s.strip.keyframes] == [30, 31] and s.strip.spec.steps == 6
    assert again.strip_panel.steps.value() == 6 and again.strip_panel.method.currentText() == "lerp"
    qtbot.waitUntil(lambda: again.strip_panel.composite is not None, timeout=30_000)
    qtbot.waitUntil(lambda: "cursor" in s.decoded, timeout=30_000)
    assert np.array_equal(s.decoded["cursor"].latents[0], s.moved_latent)  # the decoder shows the moved point


@pytest.mark.slow  # encodes the held-out faces twice, with two models of its own
def test_a_session_whose_model_changed_says_so_and_restores_nothing(open_window, qtbot, tmp_path, isolated_cache):
    model = load_model("builtin:faces")
    model_path = tmp_path / "mine.safetensors"
    save_checkpoint(model, model_path)
    w = open_window(str(model_path), "builtin:faces:test")
    _arrange(w, qtbot)
    session = tmp_path / "mine.vaesession"
    assert w.sessions.save(str(session))
    w.close()
    with torch.no_grad():  # the user retrains: same file, other weights
        next(model.parameters()).add_(0.01)
    save_checkpoint(model, model_path)

    again = open_window(session=str(session), wait_ready=False)
    with qtbot.waitSignal(again.sessions.refused, timeout=60_000) as refused:
        pass
    assert f"the model {model_path} has changed since the session was saved" in refused.args[0]
    box = next(b for b in again.findChildren(QtWidgets.QMessageBox) if b.isVisible())
    assert "was not restored" in box.text() and "has changed" in box.informativeText()
    s = again.state
    assert s.pinned is None and s.strip.keyframes == [] and s.selection["B"].tolist() == []
    qtbot.waitUntil(lambda: len(s.sliders.vectors) == 4, timeout=30_000)  # the label vectors, fresh
    assert s.sliders.values == [0.0] * 4


def test_the_selection_exports_from_the_window(open_window, qtbot, tmp_path):
    w = open_window()
    w.state.select("A", np.array([3, 9]))
    assert w.sessions.export_selection(str(tmp_path / "sel.npz")) == 2
    with np.load(tmp_path / "sel.npz") as z:
        assert z["index"].tolist() == [3, 9] and np.array_equal(z["mu"], w.state.encodings.mu[[3, 9]])


def test_opening_a_bad_session_from_the_command_line_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.vaesession"
    bad.write_text("{")
    assert cli_main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vae-explorer: error: {bad}: not a readable session file") and err.count("\n") == 1
    assert cli_main([str(tmp_path / "none.vaesession")]) == 1
    assert capsys.readouterr().err == f"vae-explorer: error: {tmp_path / 'none.vaesession'}: no such file\n"


def test_the_command_line_knows_the_session_suffix():
    from explorer import cli
    from explorer.core.io import session

    assert cli.SESSION_SUFFIX == session.SUFFIX
    assert cli._session_shorthand(["x.vaesession", "--device", "cpu"]) == [
        "--session",
        "x.vaesession",
        "--device",
        "cpu",
    ]
    assert cli._session_shorthand(["frobnicate"]) == ["frobnicate"]  # argparse reports it


@pytest.mark.parametrize(
    "damage",
    ["nan-pinned", "nested", "padding", "raw-99", "keyframe-past-the-data"],
    ids=["a NaN pinned point", "nested 5,000 deep", "a huge padding", "raw dims 99", "a keyframe past the data"],
)
def test_a_damaged_session_opened_in_the_window_says_why_and_keeps_what_it_had(open_window, qtbot, tmp_path, damage):
    w = open_window()
    _arrange(w, qtbot)
    path = tmp_path / "mine.vaesession"
    assert w.sessions.save(str(path))
    doc = json.loads(path.read_text())
    if damage == "nan-pinned":
        doc["pinned"] = [float("nan")] * len(doc["pinned"])
    elif damage == "padding":
        doc["strip"]["spec"]["layout"]["padding"] = 100_000
    elif damage == "raw-99":  # only the model can tell: checked before the window lets go of it
        doc["projection"] = ["raw", 99, 0]
    elif damage == "keyframe-past-the-data":
        doc["strip"]["keyframes"][0]["index"] = 10**9
    text = "[" * 5000 + "]" * 5000 if damage == "nested" else json.dumps(doc)
    path.write_text(text)
    before = (list(w.state.sliders.values), w.state.pinned.latent.copy(), w.state.projection_source, w.state.generation)
    assert not w.sessions.open(str(path))
    box = next(b for b in w.findChildren(QtWidgets.QMessageBox) if b.isVisible())
    assert box.text() == "Could not open the session." and "mine.vaesession" in box.informativeText()
    s = w.state
    assert (s.sliders.values, s.projection_source, s.generation) == (before[0], before[2], before[3])
    assert np.array_equal(s.pinned.latent, before[1]) and w.controller.offer_label_vectors
    box.close()
