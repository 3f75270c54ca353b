import json

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtWidgets

from explorer.core.space import vectors as V
from explorer_models import load_model, tensor_to_images


def _decode(model, latent):
    with torch.no_grad():
        return tensor_to_images(model.decode(torch.from_numpy(np.asarray(latent, np.float32)[None])))[0]


@pytest.fixture
def attr_window(open_window, qtbot):
    w = open_window()
    qtbot.waitUntil(lambda: len(w.state.sliders.vectors) == 4, timeout=30_000)  # offered label vectors
    return w


def test_label_vectors_are_offered_with_their_quality(attr_window):
    w = attr_window
    panel = w.findChild(QtWidgets.QWidget, "attributePanel")
    assert panel is w.attribute_panel
    assert [r.name.text() for r in panel.rows] == ["smiling", "glasses", "eyes_open", "hat"]
    assert all(r.quality.text().startswith("AUC ") for r in panel.rows)
    slider = panel.rows[0].slider
    assert slider.minimum() <= -3 and slider.maximum() >= 3


def test_moving_a_slider_shows_the_decode_of_z_plus_offset_and_removing_it_removes_the_offset(attr_window, qtbot):
    w = attr_window
    state, panel = w.state, w.attribute_panel
    state.pin_data_point(11)
    z = state.pinned.latent.copy()
    model = load_model("builtin:faces")
    view = w.findChild(QtWidgets.QWidget, "decodedView")

    panel.rows[0].slider.setValue(1.5)
    smile = state.effective_vectors()[0]
    expected = _decode(model, z + smile.offset(1.5))
    qtbot.waitUntil(lambda: view.image() is not None and np.array_equal(view.image(), expected), timeout=20_000)

    panel.rows[1].slider.setValue(-2.0)  # offsets add
    glasses = state.effective_vectors()[1]
    both = z + smile.offset(1.5) + glasses.offset(-2.0)
    assert np.allclose(state.moved_latent, both, atol=1e-5)
    qtbot.waitUntil(lambda: np.array_equal(view.image(), _decode(model, both)), timeout=20_000)

    panel.rows[0].removed.emit(0)  # the remove button
    assert len(state.sliders.vectors) == 3 and [r.index for r in panel.rows] == [0, 1, 2]
    only_glasses = z + glasses.offset(-2.0)
    assert np.allclose(state.moved_latent, only_glasses, atol=1e-5)
    qtbot.waitUntil(lambda: np.array_equal(view.image(), _decode(model, only_glasses)), timeout=20_000)
    moved_on_map = np.array(w.map.arrows.moved.getData()).T[0]
    assert np.allclose(moved_on_map, state.projection.transform(only_glasses), atol=1e-5)


def test_a_slider_without_a_pin_pins_the_current_point_first(attr_window):
    state = attr_window.state
    assert state.pinned is None
    attr_window.attribute_panel.rows[2].slider.setValue(1.0)
    assert state.pinned is not None and state.sliders.values[2] == 1.0


def test_orthogonalise_makes_the_sliders_orthogonal(attr_window, qtbot):
    w = attr_window
    w.attribute_panel.orthogonalise.setChecked(True)
    qtbot.waitUntil(lambda: w.controller.idle)  # the orthogonal basis is made on the compute thread
    units = np.stack([v.direction for v in w.state.effective_vectors()])
    assert np.abs(units @ units.T - np.eye(4)).max() < 1e-6
    assert len(w.attribute_panel.rows) == 4


def test_box_selections_make_an_exact_a_minus_b_vector(attr_window, qtbot):
    w = attr_window
    state = w.state
    x0, y0 = (float(v) for v in np.percentile(state.coords, 20, axis=0))
    x1, y1 = (float(v) for v in np.percentile(state.coords, 80, axis=0))
    w.attribute_panel.select_a.setChecked(True)
    assert w.map._vb.selecting
    w.map._vb.boxed.emit(QtCore.QPointF(x0, y0), QtCore.QPointF(x1, y0 + (y1 - y0) / 2))
    qtbot.waitUntil(lambda: w.controller.idle)  # the points in the box are found on the compute thread
    w.attribute_panel.select_b.setChecked(True)
    assert not w.attribute_panel.select_a.isChecked()
    w.map._vb.boxed.emit(QtCore.QPointF(x0, y0 + (y1 - y0) / 2), QtCore.QPointF(x1, y1))
    qtbot.waitUntil(lambda: w.controller.idle)
    a, b = state.selection["A"], state.selection["B"]
    inside = (state.coords[a] >= [x0, y0]).all(1) & (state.coords[a] <= [x1, y1]).all(1)
    assert len(a) > 10 and len(b) > 10 and inside.all()
    w.attribute_panel.add_selection.click()
    qtbot.waitUntil(lambda: len(state.sliders.vectors) == 5, timeout=20_000)
    v = state.sliders.vectors[-1]
    mu = np.asarray(state.encodings.mu, np.float64)
    assert np.array_equal(v.direction, mu[a].mean(0) - mu[b].mean(0))
    assert v.method == V.SELECTION
    w.attribute_panel.select_b.setChecked(False)
    assert not w.map._vb.selecting


def test_map_along_a_vector(attr_window, qtbot):
    w = attr_window
    w.controls.projection.setCurrentText("along a vector")
    w.controls.vector.setCurrentIndex(1)
    qtbot.waitUntil(lambda: w.controller.idle)  # the map is built on the compute thread
    p = w.state.projection
    glasses = w.state.sliders.vectors[1]
    assert p.name == "along glasses"
    assert np.allclose(w.state.coords[:, 0], np.asarray(w.state.encodings.mu, np.float64) @ glasses.unit)
    cursor = w.state.move_cursor(np.array([0.5, 0.1]))
    assert np.allclose(p.transform(cursor.latent), [0.5, 0.1], atol=1e-5)


def test_vectors_save_and_load_and_another_models_are_refused(attr_window, tmp_path):
    w = attr_window
    panel, state = w.attribute_panel, w.state
    path = tmp_path / "mine.json"
    panel.save_to(str(path))
    directions = [v.direction.copy() for v in state.sliders.vectors]
    for _ in range(4):
        state.remove_vector(0)
    panel.load_from(str(path))
    assert [np.array_equal(a, b.direction) for a, b in zip(directions, state.sliders.vectors)] == [True] * 4
    doc = json.loads(path.read_text())
    doc["model_hash"] = "0" * 64
    path.write_text(json.dumps(doc))
    with pytest.raises(V.VectorError, match="made for another model"):
        panel.load_from(str(path))
    panel._guarded(lambda: panel.load_from(str(path)))  # what the Load button does: a message, no crash
    assert "made for another model" in w.statusBar().currentMessage()
    assert len(state.sliders.vectors) == 4
