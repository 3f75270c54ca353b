"""A 1 ms precise timer on the GUI thread: the gaps between its ticks are how long the GUI
thread was busy elsewhere (a stall). Shared by the benchmark scripts."""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore


class StallMeter(QtCore.QObject):
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
