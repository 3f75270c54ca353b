"""What the window shows, as a user reads it: labels, numbers, names, previews, hints, sizes."""

import dataclasses
import itertools

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from explorer.core.figures import figure as F
from explorer.core.space import vectors as V
from explorer.core.state.explorer_state import COLOUR_KL, COLOUR_RECON
from explorer.qt.latent_map import SELECTION_COLOURS
from explorer.qt.strip_panel import MIN_PREVIEW_TILE


def _drawn_tick_texts(axis) -> list[str]:
    """The tick labels an axis actually draws (pyqtgraph leaves out those that do not fit)."""
    image = QtGui.QImage(400, 400, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in texts]


def _with_labels(w, qtbot):
    qtbot.waitUntil(lambda: len(w.state.sliders.vectors) == 4, timeout=30_000)
    return w


def test_the_along_a_vector_axis_reads_mu_dot_the_vector(open_window, qtbot):
    w = _with_labels(open_window(), qtbot)
    w.state.set_along_vector(0)
    qtbot.waitUntil(lambda: w.controller.idle)  # maps and colourings are made on the compute thread
    assert w.map.getAxis("bottom").label.toPlainText().strip() == "<mu, smiling>"
    assert w.map.getAxis("left").label.toPlainText().strip() == "PC 1 without smiling"


@pytest.mark.parametrize("key", [COLOUR_RECON, COLOUR_KL, "head_x"])
def test_colour_bars_show_numbers(open_window, qtbot, key):
    w = open_window()
    w.state.set_colour(key)
    qtbot.waitUntil(lambda: w.controller.idle)
    lo, hi = w.state.colouring.value_range
    axis = w.map._colour_bar.axis
    qtbot.waitUntil(lambda: axis.boundingRect().height() > 100)  # laid out beside the map
    texts = _drawn_tick_texts(axis)
    assert len(texts) >= 2, texts
    values = [float(t.replace("−", "-")) for t in texts]
    assert all(lo - (hi - lo) <= v <= hi + (hi - lo) for v in values)


def test_the_reconstruction_error_is_coloured_in_grey_levels(open_window, qtbot):
    w = open_window()
    w.state.set_colour(COLOUR_RECON)
    qtbot.waitUntil(lambda: w.controller.idle)
    rms = 255 * np.sqrt(np.asarray(w.state.encodings.mse, np.float64))
    lo, hi = w.state.colouring.value_range
    assert (lo, hi) == pytest.approx((np.percentile(rms, 1), np.percentile(rms, 99)))
    assert 0 < lo < hi < 255  # a few grey levels, not tens of thousands of nats
    assert "0-255" in w.state.colouring.title


def test_map_ticks_are_plain_numbers_at_any_scale(open_window):
    w = open_window()
    w.map.setXRange(-0.002, 0.002, padding=0)
    axis = w.map.getAxis("bottom")
    assert axis.autoSIPrefixScale == 1.0 and "(x" not in axis.labelString()
    texts = _drawn_tick_texts(axis)
    assert texts and all(abs(float(t.replace("−", "-"))) <= 0.002 for t in texts)


def test_vector_names_at_the_pin_neither_overlap_nor_cover_the_pin(open_window, qtbot):
    w = _with_labels(open_window(), qtbot)
    state = w.state
    state.pin_data_point(10)
    state.set_slider(0, 2.0)
    names = w.map.arrows.names
    assert [t.toPlainText() for t in names] == ["smiling", "glasses", "eyes_open", "hat"]
    pin = w.map._pin
    pin_rect = QtCore.QRectF(
        pin.mapToScene(QtCore.QPointF(*state.pinned.map_xy)) - QtCore.QPointF(8, 8), QtCore.QSizeF(16, 16)
    )
    for zoom in (1.0, 0.25):  # and after zooming out, where the tips crowd together
        w.map.plotItem.vb.scaleBy((1 / zoom, 1 / zoom))
        rects = [t.sceneBoundingRect() for t in names]
        for i, a in enumerate(rects):
            assert not a.intersects(pin_rect), names[i].toPlainText()
            for b in rects[:i]:
                assert not a.intersects(b)


def _preview_of_64_steps(w, qtbot):
    panel, strip = w.strip_panel, w.state.strip
    strip.add_data_point(3)
    strip.add_data_point(17)
    strip.set_spec(steps=64)
    qtbot.waitUntil(
        lambda: panel.preview_composite is not None and len(panel.preview_composite.boxes) == 64, timeout=30_000
    )
    return panel


def test_a_64_step_strip_preview_shows_tiles_at_least_48_pixels_wide(open_window, qtbot):
    w = open_window()
    panel = _preview_of_64_steps(w, qtbot)
    shown = panel.preview.image_rect().width() / panel.preview_composite.image.shape[1]
    assert panel.preview_composite.boxes[:, 2].min() * shown >= MIN_PREVIEW_TILE
    assert len(set(panel.preview_composite.boxes[:, 1])) > 1  # wrapped into rows, not one thin line
    assert len(panel.composite.boxes) == 64 and len(set(panel.composite.boxes[:, 1])) == 1  # the export: one row


def test_a_captioned_grid_preview_shows_captions_at_full_size(open_window, qtbot):
    w = open_window()
    panel, strip = w.strip_panel, w.state.strip
    for i in (1, 2, 3, 4):
        strip.add_data_point(i)
    strip.set_spec(kind=F.GRID, rows=8, cols=8)
    strip.set_layout(captions=True)
    qtbot.waitUntil(
        lambda: panel.preview_composite is not None and len(panel.preview_composite.boxes) == 64, timeout=30_000
    )
    assert panel.preview.image_rect().width() >= panel.preview_composite.image.shape[1]  # never shrunk
    assert panel.preview_scroll.horizontalScrollBar().maximum() > 0  # what does not fit scrolls


def test_a_long_vector_name_is_shortened_and_keeps_the_row_buttons_in_sight(open_window, qtbot):
    w = _with_labels(open_window(), qtbot)
    v = V.principal_directions(np.asarray(w.state.encodings.mu, np.float64), 1)[0]
    long_name = "a very long vector name that goes on and on (balanced by glasses, hat and more)"
    w.state.add_vector(dataclasses.replace(v, name=long_name))
    w.resize(1024, 700)
    qtbot.waitUntil(lambda: len(w.attribute_panel.rows) == 5)
    panel, row = w.attribute_panel, w.attribute_panel.rows[-1]
    qtbot.waitUntil(row.isVisible)
    assert row.name.text() == long_name and long_name in row.name.toolTip()
    remove = row.layout().itemAtPosition(1, 3).widget()
    right_edge = remove.mapTo(panel, QtCore.QPoint(remove.width(), 0)).x()
    assert right_edge <= panel.width()
    area = row.parentWidget().parentWidget().parentWidget()  # the rows' scroll area
    assert not area.horizontalScrollBar().isVisible()


def test_selection_buttons_wear_their_groups_colours_and_the_bars_say_they_can_be_clicked(open_window):
    w = open_window()
    panel = w.attribute_panel
    for group, button in (("A", panel.select_a), ("B", panel.select_b)):
        pixel = button.icon().pixmap(12, 12).toImage().pixelColor(6, 6)
        assert (pixel.red(), pixel.green(), pixel.blue()) == SELECTION_COLOURS[group]
    w.state.select("A", np.arange(5))
    assert "rgb(80, 230, 120)" in panel.selection_text.text() and "A 5 points" in panel.selection_text.text()
    assert "click two bars" in w.active_units.plotItem.titleLabel.text
    assert w.active_units.cursor().shape() == QtCore.Qt.CursorShape.PointingHandCursor


@pytest.mark.parametrize("size", [(1024, 700), (1280, 720)])
def test_on_a_small_screen_the_decoder_panel_draws_nothing_on_top_of_anything(open_window, qtbot, size):
    w = open_window()
    w.resize(*size)
    w.state.move_cursor(w.state.coords[7])
    qtbot.waitUntil(lambda: w.decoder_panel.reconstruction.image() is not None, timeout=20_000)
    p = w.decoder_panel
    order = [p.decoded, p.latent_text, p.original, p.labels, p.neighbours]
    boxes = [QtCore.QRect(x.mapTo(p, QtCore.QPoint(0, 0)), x.size()) for x in order]
    for upper, lower in itertools.pairwise(boxes):
        assert upper.bottom() < lower.top(), (upper, lower)
    assert p.labels.height() >= p.labels.heightForWidth(p.labels.width())  # every line of the labels shows
    for panel in (p, w.posterior_panel):  # given their whole minimum height: what does not fit scrolls
        assert panel.height() >= panel.layout().totalMinimumHeightForWidth(panel.width())


def test_small_tiles_are_enlarged_to_48_pixels_in_the_preview(open_window, qtbot, monkeypatch, fake_vae, make_pictures):
    """A 28-px model (the MLP's default size): its tiles are enlarged by whole pixels to >= 48."""
    from explorer.qt import controller as controller_module

    model = fake_vae(latent_dim=4, image_shape=(3, 28, 28))
    monkeypatch.setattr(controller_module, "load_model", lambda spec: model)
    w = open_window("fake", str(make_pictures(40, 28)))
    panel = _preview_of_64_steps(w, qtbot)
    shown = panel.preview.image_rect().width() / panel.preview_composite.image.shape[1]
    assert shown == 2.0  # 28 px x 2 = 56 px: the smallest whole enlargement of at least 48
    assert panel.preview_composite.boxes[:, 2].min() * shown >= MIN_PREVIEW_TILE
