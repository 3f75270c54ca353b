"""The map under a real mouse: QMouseEvents on the viewport after real moves, as a user's hand
gives them (a handler called directly, or a click without a move first, once hid that the
ring drawn on the nearest point swallowed every click)."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier


def _nearest(state, xy) -> int:
    return int(np.argmin(((state.coords - xy) ** 2).sum(1)))


def _spread_points(state, n, seed):
    """n data points spread over the map."""
    return np.random.default_rng(seed).choice(len(state.coords), n, replace=False)


@pytest.mark.parametrize("hover_first", [0, 50])
def test_a_click_pins_the_point_under_the_cursor(open_window, qtbot, map_mouse, hover_first):
    w = open_window()
    mouse, state = map_mouse(w), w.state
    mouse.hover(hover_first)
    for index in _spread_points(state, 10, seed=hover_first):
        pixel = mouse.click(state.coords[index])
        under = mouse.at(pixel)  # the map point the click landed on (a whole pixel)
        assert state.pinned is not None, f"the click on point {index} pinned nothing"
        assert np.allclose(state.pinned.map_xy, under)
        assert state.pinned.nearest == _nearest(state, under)
        assert state.pinned.nearest == state.cursor.nearest  # what the ring showed is what was pinned
        # the pinned latent is the one under the cursor: the map's inverse at that point
        assert np.allclose(state.pinned.latent, state.latent_at(under).latent)
        state.pin(None)


@pytest.mark.parametrize("hover_first", [0, 50])
def test_shift_clicks_add_keyframes_and_do_not_pin(open_window, qtbot, map_mouse, hover_first):
    w = open_window()
    mouse, state = map_mouse(w), w.state
    mouse.hover(hover_first, seed=1)
    a, b = _spread_points(state, 2, seed=2 + hover_first)
    expected = [_nearest(state, mouse.at(mouse.click(state.coords[i], SHIFT))) for i in (a, b)]
    assert [k.index for k in state.strip.keyframes] == expected
    assert state.pinned is None
    assert w.strip_panel.keyframe_list.count() == 2


def test_clicks_on_every_overlay_reach_the_map(open_window, qtbot, map_mouse):
    """The pin, the moved point, prior crosses, keyframes and the strip path lie over the
    points; a click on any of them still pins the point under the cursor."""
    w = open_window()
    mouse, state = map_mouse(w), w.state
    qtbot.waitUntil(lambda: bool(state.sliders.vectors), timeout=30_000)  # the label vectors
    first, second = _spread_points(state, 2, seed=3)
    state.strip.add_data_point(int(first))
    state.strip.add_data_point(int(second))
    state.pin_data_point(int(first))
    state.set_slider(0, 1.5)
    w.controller.sample_prior()
    qtbot.waitUntil(lambda: "prior" in state.decoded, timeout=20_000)
    targets = [
        state.coords[first],
        state.coords[second],
        state.projection.transform(state.moved_latent),
        state.projection.transform(state.decoded["prior"].latents[0]),
        state.projection.transform(state.strip.figure.latents[3]),
    ]
    for xy in targets:
        state.pin(None)
        pixel = mouse.click(xy)
        assert state.pinned is not None and np.allclose(state.pinned.map_xy, mouse.at(pixel))


def test_a_drag_walks_the_pin_with_the_cursor(open_window, qtbot, map_mouse):
    w = open_window()
    mouse, state = map_mouse(w), w.state
    a, b = state.coords[_spread_points(state, 2, seed=4)]
    start, end = mouse.pixel(a), mouse.pixel(b)
    qtbot.mouseMove(mouse.viewport, start)
    qtbot.mousePress(mouse.viewport, QtCore.Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 12)[1:]:
        qtbot.mouseMove(mouse.viewport, start + (end - start) * float(t))
    qtbot.mouseRelease(mouse.viewport, QtCore.Qt.MouseButton.LeftButton, pos=end)
    assert state.pinned is not None and np.allclose(state.pinned.map_xy, mouse.at(end))


class _Leaves(QtCore.QObject):
    """Counts the times the mouse leaves a widget."""

    def __init__(self, widget):
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        self.count += event.type() == QtCore.QEvent.Type.Leave
        return False


def test_moves_over_the_map_search_no_items_and_the_plot_still_sees_the_mouse(open_window, map_mouse, monkeypatch):
    """pyqtgraph's hover search (the items near the cursor) runs when the mouse comes in, not on
    every move; the plot still shows its auto-range button while the mouse is over it."""
    w = open_window()
    mouse, scene, button = map_mouse(w), w.map.scene(), w.map.plotItem.autoBtn
    searched = []
    search = scene.itemsNearEvent
    monkeypatch.setattr(scene, "itemsNearEvent", lambda *a, **k: searched.append(1) or search(*a, **k))
    leaves = _Leaves(w.map)  # (Qt may send one when other windows of the test run are about)
    mouse.hover(1)
    assert button.isVisible() and len(searched) == 1
    mouse.hover(30, seed=1)
    assert len(searched) == 1 + leaves.count  # once each time the mouse comes in
    QtWidgets.QApplication.sendEvent(w.map, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert not button.isVisible()
    mouse.hover(3, seed=2)  # back in: told once more
    assert button.isVisible() and len(searched) == 1 + leaves.count


def test_the_nearest_points_marks_and_thumbnails_are_redrawn_only_when_it_changes(open_window, qtbot, monkeypatch):
    w = open_window()
    s, m, panel = w.state, w.map, w.decoder_panel
    a = int(_spread_points(s, 1, seed=5)[0])
    s.move_cursor(s.coords[a])
    qtbot.waitUntil(lambda: s.settled_focus == a)  # the cursor rests: its neighbours are shown
    neighbours = s.latent_neighbours(a)
    assert m._neighbours.isVisible() and np.allclose(np.array(m._neighbours.getData()).T, s.coords[neighbours])
    assert panel.neighbours.images()[0] is not None
    redrawn = []
    for name, item, method in (
        ("ring", m._nearest, "setPos"),
        ("thumbnails", panel.neighbours, "set_images"),
        ("original", panel.original, "set_image"),
    ):
        monkeypatch.setattr(item, method, lambda *a, name=name, **k: redrawn.append(name))
    spacing = np.sort(np.hypot(*(s.coords - s.coords[a]).T))[1]
    for step in np.linspace(0, 0.4, 8):  # under half the way to any other point: the same nearest point
        s.move_cursor(s.coords[a] + step * spacing * np.array([0.6, 0.8]))
    s.set_fill_mode(s.fill_mode)  # (the decoded latent is redone; the nearest point is the same)
    assert redrawn == [] and s.settled_focus == a
    s.move_cursor(s.coords[int(neighbours[0])])
    assert redrawn == ["ring", "original"] and not m._neighbours.isVisible()  # the thumbnails wait for a rest
    qtbot.waitUntil(lambda: s.settled_focus == neighbours[0])
    assert redrawn[2:] == ["thumbnails"] and m._neighbours.isVisible()
