"""Record a drag over the map as a walk, and export it like a strip."""

import json

import numpy as np
from PIL import Image
from PySide6 import QtCore

from explorer.core.figures import figure as F
from explorer.core.figures.export import sidecar_path
from explorer_models import load_model
from explorer_models.vae import decode_images


def test_a_recorded_drag_becomes_a_strip_of_the_latents_walked_and_exports_with_its_sidecar(
    open_window, qtbot, map_mouse, tmp_path
):
    w = open_window()
    mouse, state, panel = map_mouse(w), w.state, w.strip_panel
    walked = []
    state.cursor_changed.connect(lambda c: c is not None and walked.append(c.latent.copy()))
    coords = state.coords
    start, end = mouse.pixel(coords[3]), mouse.pixel(coords[40])
    qtbot.mouseClick(panel.record, QtCore.Qt.MouseButton.LeftButton)
    assert state.strip.recording and panel.record.text() == "■ Stop"
    qtbot.mouseMove(mouse.viewport, start)
    qtbot.mousePress(mouse.viewport, QtCore.Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 10)[1:]:
        qtbot.mouseMove(mouse.viewport, start + (end - start) * float(t))
    qtbot.mouseRelease(mouse.viewport, QtCore.Qt.MouseButton.LeftButton, pos=end)
    qtbot.mouseClick(panel.record, QtCore.Qt.MouseButton.LeftButton)
    assert not state.strip.recording and panel.record.text() == "Record"

    # the walk, repeats left out, is the figure's latents in order
    distinct = [z for i, z in enumerate(walked) if i == 0 or not np.array_equal(z, walked[i - 1])]
    figure = state.strip.figure
    assert figure.spec.kind == F.RECORDING and len(distinct) >= 5
    np.testing.assert_array_equal(figure.latents, np.stack(distinct))
    assert panel.kind.currentText() == "Recorded walk"
    assert panel.keyframe_list.item(0).text() == f"a recorded walk of {len(distinct)} latents"

    qtbot.waitUntil(
        lambda: state.decoded.get("strip") is not None and len(state.decoded["strip"].images) == len(distinct),
        timeout=60_000,
    )
    path = tmp_path / "walk.gif"
    assert panel.export_to(str(path))
    decoded = decode_images(load_model("builtin:faces"), figure.latents)
    with Image.open(path) as im:
        assert im.n_frames == len(distinct)
        im.seek(len(distinct) - 1)
        last = np.asarray(im.convert("RGB")).astype(int)
    assert np.abs(last - decoded[-1]).mean() < 4  # the GIF's palette
    doc = json.loads(sidecar_path(path).read_text())
    assert doc["spec"]["kind"] == "recording"
    np.testing.assert_allclose(doc["latents"], figure.latents)


def test_ctrl_r_in_the_view_menu_starts_and_stops_a_recording(open_window):
    w = open_window()
    action = next(a for a in w.menuBar().actions()[1].menu().actions() if a.text() == "Record a &Walk")
    action.trigger()
    assert w.state.strip.recording and w.strip_panel.record.isChecked()
    action.trigger()
    assert not w.state.strip.recording and not w.strip_panel.record.isChecked()
