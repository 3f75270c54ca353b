"""Qt fixtures. Worker threads and timers left running fail a test: see tests/conftest.py."""

import pytest
from PySide6 import QtCore, QtGui, QtTest, QtWidgets


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


def _map_settled(window) -> bool:
    """True once pending layout left the map where it is: the map's axis labels and colour key
    arrive with the first projection and shrink the plot a moment later, and a test that maps a
    data point to a pixel before that aims at the wrong pixel."""
    view = window.map.plotItem.vb
    before = view.sceneBoundingRect()
    QtWidgets.QApplication.sendPostedEvents()
    QtWidgets.QApplication.processEvents()
    return view.sceneBoundingRect() == before


@pytest.fixture(scope="session")
def bundled_pair_cached(held_out_faces_cached):
    """The bundled faces rendered and encoded by the bundled model, in the user cache, once per
    run: a window then opens them from the cache, and no window test waits on how fast this
    machine renders 22,000 faces (a fresh machine's first run does it here, without a limit)."""
    from explorer.core.data import load_dataset
    from explorer.core.store.encoding import encode_with_cache
    from explorer_models import load_model

    encode_with_cache(load_model("builtin:faces"), load_dataset("builtin:faces"))


@pytest.fixture
def open_window(qtbot, settings, bundled_pair_cached):
    """open_window(model_spec, data_spec) -> a shown MainWindow whose map is ready."""
    from explorer.qt.main_window import MainWindow

    windows = []

    def make(model="builtin:faces", data="builtin:faces:test", wait_ready=True, session=None):
        w = MainWindow(model, data, device="cpu", settings=settings, session=session)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        if wait_ready:
            qtbot.waitUntil(lambda: w.state.ready, timeout=180_000)
            # the colours, point groups and label vectors come from the compute thread after the map
            qtbot.waitUntil(lambda: w.controller.idle, timeout=60_000)
            qtbot.waitUntil(lambda: _map_settled(w))
        return w

    yield make
    for w in windows:
        w.close()


class MapMouse:
    """Drives the latent map with real mouse events on its viewport, as a user's mouse does
    (QTest sends QMouseEvents through Qt, the scene and pyqtgraph's own dispatch)."""

    def __init__(self, window):
        self.window = window
        self.viewport = window.map.viewport()

    def pixel(self, xy) -> QtCore.QPoint:
        """The viewport pixel under map point xy."""
        m = self.window.map
        return m.mapFromScene(m.scene_point(xy))

    def at(self, pixel: QtCore.QPoint):
        """The map point at a viewport pixel (its corner, where Qt puts an event's position), (2,)."""
        import numpy as np

        p = self.window.map.plotItem.vb.mapSceneToView(self.window.map.mapToScene(pixel))
        return np.array([p.x(), p.y()])

    def move(self, xy) -> QtCore.QPoint:
        pixel = self.pixel(xy)
        QtTest.QTest.mouseMove(self.viewport, pixel)
        return pixel

    def click(self, xy, modifiers=QtCore.Qt.KeyboardModifier.NoModifier) -> QtCore.QPoint:
        """Move onto xy (a little beside it first, as a hand does), then click there."""
        pixel = self.pixel(xy)
        QtTest.QTest.mouseMove(self.viewport, pixel + QtCore.QPoint(4, 3))
        QtTest.QTest.mouseMove(self.viewport, pixel)
        QtTest.QTest.mouseClick(self.viewport, QtCore.Qt.MouseButton.LeftButton, modifiers, pixel)
        return pixel

    def wheel(self, xy, notches: int) -> None:
        """Turn the wheel `notches` (> 0 zooms in) with the pointer over map point xy."""
        wheel(self.viewport, self.pixel(xy), notches)

    def hover(self, n: int, seed: int = 0) -> None:
        """n moves to random places over the data."""
        import numpy as np

        coords = self.window.state.coords
        lo, hi = coords.min(0), coords.max(0)
        for xy in lo + np.random.default_rng(seed).random((n, 2)) * (hi - lo):
            self.move(xy)


def wheel(viewport, pixel: QtCore.QPoint, notches: int) -> None:
    """A real QWheelEvent of `notches` (120 each; > 0 zooms the map in) at a viewport pixel."""
    pos = QtCore.QPointF(pixel)
    event = QtGui.QWheelEvent(
        pos,
        viewport.mapToGlobal(pos),
        QtCore.QPoint(),
        QtCore.QPoint(0, 120 * notches),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(viewport, event)


@pytest.fixture
def send_wheel():
    return wheel


@pytest.fixture
def map_mouse():
    return MapMouse
