"""The map under a real mouse: QMouseEvents on the viewport after real moves, as a user's hand
gives them (a handler called directly, or a click without a move first, once hid that the
ring drawn on the nearest point swallowed every click)."""

import numpy as np
import pytest
from PySide6 import QtCore

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
