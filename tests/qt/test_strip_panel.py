"""The strip panel: shift-click keyframes on the map, live preview, export from the window."""

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from explorer.cli import main as cli_main
from explorer.core.figures import figure as F
from explorer_models import decode_images, load_model


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def _shift_click(window, qtbot, index):
    """Shift-click exactly on data point `index` of the map."""
    m = window.map
    view_pos = m.mapFromScene(m.scene_point(window.state.coords[index]))
    qtbot.mouseClick(m.viewport(), QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.ShiftModifier, view_pos)


def _tile(composite, i):
    x, y, w, h = composite.boxes[i]
    return composite.image[y : y + h, x : x + w]


def _two_distant_points(state):
    """Two data points far apart on the map, each the only point under its own pixel."""
    c = state.coords
    return int(np.argmin(c[:, 0])), int(np.argmax(c[:, 0]))


def _wait_for_preview(window, qtbot):
    """Until the strip is decoded and every answer is in: the preview's layout comes from the
    compute thread after the decode, so a decoded strip alone may still show the last one."""
    panel = window.strip_panel
    qtbot.waitUntil(
        lambda: panel.composite is not None and panel._matches(window.state.decoded["strip"]), timeout=30_000
    )
    qtbot.waitUntil(lambda: window.controller.idle, timeout=30_000)
    return panel


def test_shift_clicking_two_points_and_exporting_writes_their_decodes_at_the_ends(open_window, qtbot, tmp_path, model):
    w = open_window()
    panel = w.findChild(QtWidgets.QWidget, "stripPanel")
    assert panel is w.strip_panel
    a, b = _two_distant_points(w.state)
    _shift_click(w, qtbot, a)
    _shift_click(w, qtbot, b)
    assert [k.index for k in w.state.strip.keyframes] == [a, b]
    assert [panel.keyframe_list.item(i).text() for i in range(2)] == [f"1 · data point {a}", f"2 · data point {b}"]
    assert w.state.pinned is None  # a shift-click adds a keyframe; it does not pin
    _wait_for_preview(w, qtbot)

    out = tmp_path / "strip.png"
    assert panel.export_to(str(out))
    image = np.asarray(Image.open(out).convert("RGB"))
    boxes, figure = panel.composite.boxes, w.state.strip.figure
    assert len(boxes) == len(figure.latents) == 8
    mu = w.state.encodings.mu
    assert np.array_equal(figure.latents[0], mu[a]) and np.array_equal(figure.latents[-1], mu[b])
    path_decoded = decode_images(model, figure.latents)  # the strip is decoded as one batch
    alone = decode_images(model, mu[[a]])[0], decode_images(model, mu[[b]])[0]
    for tile, expected, own in ((0, path_decoded[0], alone[0]), (-1, path_decoded[-1], alone[1])):
        x, y, wd, h = boxes[tile]
        assert np.array_equal(image[y : y + h, x : x + wd], expected)
        # decoded on its own the point differs by at most one grey level: CPU convolutions
        # round differently for different batch sizes
        assert np.abs(image[y : y + h, x : x + wd].astype(int) - own).max() <= 1


@pytest.mark.slow  # the window renders and encodes the held-out faces in a cache of its own
def test_gui_and_cli_exports_of_the_same_path_are_the_same_image(open_window, qtbot, tmp_path, isolated_cache, capsys):
    w = open_window()
    s = w.state.strip
    for i in (11, 250, 1999):
        s.add_data_point(i)
    s.set_spec(method="gauss", steps=6)
    s.set_layout(columns=5, padding=3, captions=True, background=(30, 30, 40))
    s.set_spec(originals=True)
    _wait_for_preview(w, qtbot)
    gui, cli = tmp_path / "gui.png", tmp_path / "cli.png"
    assert w.strip_panel.export_to(str(gui))
    code = cli_main(
        [
            "strip",
            "--model",
            "builtin:faces",
            "--data",
            "builtin:faces:test",
            "--device",
            "cpu",
            "--from",
            "11",
            "--via",
            "250",
            "--to",
            "1999",
            "--steps",
            "6",
            "--method",
            "gauss",
            "--columns",
            "5",
            "--padding",
            "3",
            "--captions",
            "--background",
            "30,30,40",
            "--originals",
            "--out",
            str(cli),
        ]
    )
    assert code == 0, capsys.readouterr().err
    a, b = (np.asarray(Image.open(p), int) for p in (gui, cli))
    assert a.shape == b.shape
    rows, cols = np.nonzero(np.abs(a - b).max(2))
    # Known, not yet explained: in some full-suite runs (never alone) a few of the 97,000 pixels
    # differ by one grey level (1 with the first bundled model, 4 once with the retrained one).
    # Probably float rounding under another number of torch threads, which is set process-wide;
    # not verified. The same tolerance is documented in docs/figures.md.
    assert len(rows) <= 10 and np.abs(a - b).max() <= 1, (
        f"{len(rows)} pixels differ, rows {rows.min()}-{rows.max()}, columns {cols.min()}-{cols.max()}, "
        f"by up to {np.abs(a - b).max()}"
    )


def test_the_preview_follows_the_settings_and_marks_steps_off_the_data(open_window, qtbot):
    w = open_window()
    panel, s = w.strip_panel, w.state.strip
    assert "shift-click" in panel.support_text.text()  # no keyframes yet: the panel says what to do
    s.add_data_point(3)
    s.add_data_point(17)
    panel.steps.setValue(12)
    assert s.spec.steps == 12
    _wait_for_preview(w, qtbot)
    assert len(panel.composite.boxes) == 12
    tiles = np.stack([_tile(panel.composite, i) for i in range(12)])
    assert np.array_equal(tiles, w.state.decoded["strip"].images)
    assert panel.support_text.text().startswith("12 images · ")
    assert "data support: " in panel.support_text.toolTip()

    # a sweep from a point far outside the data: every step is off it and framed in red
    panel.kind.setCurrentIndex(list(F.KINDS).index(F.SWEEP))
    qtbot.waitUntil(lambda: len(w.state.sliders.vectors) == 4, timeout=30_000)
    s.set_keyframes([F.Keyframe(np.full(w.state.latent_dim, 40.0, np.float32), None, "far away")])
    _wait_for_preview(w, qtbot)
    assert s.support.off_data.all() and "off the data" in panel.support_text.text()
    shown = panel.preview.image()
    x, y, wd, _ = panel.preview_composite.boxes[0]
    assert tuple(shown[y, x + wd // 2]) == (230, 40, 40)


def test_a_grid_needs_four_keyframes_and_shows_rows_by_columns(open_window, qtbot):
    w = open_window()
    panel, s = w.strip_panel, w.state.strip
    panel.kind.setCurrentIndex(list(F.KINDS).index(F.GRID))
    for i in (1, 2, 3):
        s.add_data_point(i)
    assert s.figure is None and "3 of 4 keyframes" in panel.support_text.text()
    s.add_data_point(4)
    panel.rows.setValue(3)
    panel.cols.setValue(4)
    _wait_for_preview(w, qtbot)
    boxes = panel.composite.boxes
    assert len(boxes) == 12 and len(set(boxes[:, 0])) == 4 and len(set(boxes[:, 1])) == 3
    assert panel.keyframe_list.item(3).text() == "4 · data point 4 (bottom-right)"


def test_keyframes_from_the_pinned_and_moved_point(open_window, qtbot):
    w = open_window()
    qtbot.waitUntil(lambda: len(w.state.sliders.vectors) == 4, timeout=30_000)
    panel = w.strip_panel
    panel.add_pinned.click()
    assert w.state.strip.keyframes == []  # nothing pinned yet
    w.state.pin_data_point(5)
    w.state.set_slider(0, 1.5)
    panel.add_pinned.click()
    panel.add_moved.click()
    first, second = w.state.strip.keyframes
    assert np.array_equal(first.latent, w.state.encodings.mu[5])
    assert np.allclose(second.latent, w.state.moved_latent) and second.source == "moved (smiling +1.50)"
    panel.keyframe_list.setCurrentRow(0)
    panel.remove.click()
    assert [k.source for k in w.state.strip.keyframes] == ["moved (smiling +1.50)"]
