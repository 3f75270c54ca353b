"""The atlas in the window: zoomed in with the wheel to a few hundred points, each is drawn as
its own image; the map bar's Thumbnails box turns it off and on."""

import numpy as np
from PySide6 import QtGui

from explorer.core.maps.atlas import ATLAS_MOST, thumbnail


def _in_view(window) -> np.ndarray:
    (x0, x1), (y0, y1) = window.map.plotItem.vb.viewRange()
    x, y = window.state.coords[:, 0], window.state.coords[:, 1]
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def test_zoomed_in_the_points_in_view_are_drawn_as_their_images(open_window, qtbot, map_mouse):
    w = open_window()
    mouse, state = map_mouse(w), w.state
    assert len(w.map.atlas_shown()) == 0  # the whole map: far too many points
    target = state.coords[int(np.argmin(np.abs(state.coords - np.median(state.coords, 0)).sum(1)))]
    for _ in range(60):
        mouse.wheel(target, 1)
        if len(_in_view(w)) <= ATLAS_MOST:
            break
    inside = _in_view(w)
    assert 0 < len(inside) <= ATLAS_MOST
    qtbot.waitUntil(lambda: w.controller.idle, timeout=30_000)
    shown = w.map.atlas_shown()
    assert sorted(shown.tolist()) == sorted(inside.tolist())
    # each thumbnail is its own data point's image
    index = int(shown[0])
    pixmap = w.map._atlas._pixmaps[index].toImage().convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    drawn = np.frombuffer(pixmap.constBits(), np.uint8).reshape(pixmap.height(), pixmap.width(), 4)
    assert np.array_equal(drawn, thumbnail(state.dataset.images_at(np.array([index]))[0]))

    w.controls.atlas.setChecked(False)
    qtbot.waitUntil(lambda: len(w.map.atlas_shown()) == 0, timeout=5_000)
    w.controls.atlas.setChecked(True)
    qtbot.waitUntil(lambda: len(w.map.atlas_shown()) == len(inside), timeout=30_000)

    for _ in range(60):  # zoomed out again: the points alone
        mouse.wheel(target, -1)
        if len(_in_view(w)) > ATLAS_MOST:
            break
    qtbot.waitUntil(lambda: w.controller.idle, timeout=30_000)
    assert len(w.map.atlas_shown()) == 0


def test_the_thumbnails_shown_are_never_the_ones_let_go(qtbot, monkeypatch):
    from explorer.qt import atlas_item

    monkeypatch.setattr(atlas_item, "KEPT", 3)
    item = atlas_item.AtlasItem()
    tile = lambda v: np.full((4, 4, 4), v, np.uint8)
    item.show_points(np.arange(3), np.zeros((3, 2)), {i: tile(i) for i in range(3)})
    assert sorted(item.shown().tolist()) == [0, 1, 2]
    # the next view: point 0 again (made before: no new thumbnail) and two new ones
    item.show_points(np.array([0, 3, 4]), np.zeros((3, 2)), {3: tile(3), 4: tile(4)})
    assert sorted(item.shown().tolist()) == [0, 3, 4]  # 1 and 2 went, not 0
    assert item.made() == {0, 3, 4}
