"""What the benchmark scripts share: a stall meter for the GUI thread, and a real mouse move."""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.store.encoding import Encodings


class StallMeter(QtCore.QObject):
    """A 1 ms precise timer on the GUI thread: the gaps between its ticks are how long the GUI
    thread was busy elsewhere (a stall)."""

    def __init__(self):
        super().__init__()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = None

    def start(self):
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def _tick(self):
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def gaps_ms(self) -> np.ndarray:
        return np.array(self.gaps) * 1e3


def send_move(viewport: QtWidgets.QWidget, pixel: QtCore.QPoint) -> None:
    """A real QMouseEvent moving the mouse to `pixel` of the viewport, handled before this returns.

    Sent with sendEvent rather than QTest.mouseMove: that one first runs whatever events are
    pending (worker results, timers, repaints), and their time would count as the move's."""
    pos = QtCore.QPointF(pixel)
    none = QtCore.Qt.MouseButton.NoButton
    QtWidgets.QApplication.sendEvent(
        viewport,
        QtGui.QMouseEvent(
            QtCore.QEvent.Type.MouseMove,
            pos,
            viewport.mapToGlobal(pos),
            none,
            none,
            QtCore.Qt.KeyboardModifier.NoModifier,
        ),
    )


def synthetic_encodings(mu: np.ndarray, rng: np.random.Generator) -> Encodings:
    """Encodings around given mu: a narrow posterior and random ELBO terms (for map benchmarks)."""
    n = len(mu)
    rand = lambda: rng.random(n).astype(np.float32)
    return Encodings(mu=mu, logvar=np.full_like(mu, -4), recon=rand(), kl=rand(), mse=rand())
