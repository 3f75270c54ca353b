"""What the benchmark scripts share: a stall meter for the GUI thread, a real mouse move, and
the figures a script writes for the runner (`python -m benchmarks`)."""

from __future__ import annotations

import json
import math
import re
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


Button = QtCore.Qt.MouseButton


def send_mouse(
    viewport: QtWidgets.QWidget,
    pixel: QtCore.QPoint,
    kind: QtCore.QEvent.Type = QtCore.QEvent.Type.MouseMove,
    button: QtCore.Qt.MouseButton = Button.NoButton,
    held: QtCore.Qt.MouseButton = Button.NoButton,
) -> None:
    """A real QMouseEvent at `pixel` of the viewport (a move, press or release; `held` is the
    buttons down during it), handled before this returns.

    Sent with sendEvent rather than QTest: that first runs whatever events are pending (worker
    results, timers, repaints), and their time would count as the event's."""
    pos = QtCore.QPointF(pixel)
    event = QtGui.QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, held, QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(viewport, event)


def send_move(viewport: QtWidgets.QWidget, pixel: QtCore.QPoint) -> None:
    """A real mouse move to `pixel` of the viewport, no button held."""
    send_mouse(viewport, pixel)


def send_wheel(viewport: QtWidgets.QWidget, pixel: QtCore.QPoint, steps: float) -> None:
    """A real QWheelEvent of `steps` notches (120 each; > 0 away from the user) at `pixel`."""
    pos = QtCore.QPointF(pixel)
    event = QtGui.QWheelEvent(
        pos,
        viewport.mapToGlobal(pos),
        QtCore.QPoint(),
        QtCore.QPoint(0, round(120 * steps)),
        Button.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(viewport, event)


def synthetic_encodings(mu: np.ndarray, rng: np.random.Generator) -> Encodings:
    """Encodings around given mu: a narrow posterior and random ELBO terms (for map benchmarks)."""
    n = len(mu)
    rand = lambda: rng.random(n).astype(np.float32)
    return Encodings(mu=mu, logvar=np.full_like(mu, -4), recon=rand(), kl=rand(), mse=rand())


def figure_key(name: str) -> str:
    """A printed row's name as a key of the figures file: 'pan step, whole map: frame' -> 'pan_step_whole_map_frame'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def write_figures(path: str | None, figures: dict[str, float], **about) -> None:
    """The `--json PATH` of a benchmark script: its named figures (numbers; NaN becomes null) and
    what they were measured on (`about`), read by benchmarks/run_all.py. Nothing without a path."""
    if not path:
        return
    clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in figures.items()}
    with open(path, "w") as f:
        json.dump({"figures": clean, "about": about}, f, indent=1)
