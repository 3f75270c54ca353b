"""GUI-thread time of a real mouse move over the map, and how many moves the map handles
(figures in docs/benchmarks.md).

    python benchmarks/mouse_events.py [--data builtin:faces] [--moves 300] [--rounds 2]

Opens the real window on the bundled pair and sends QMouseEvents to the map's viewport with
QTest (the path a user's mouse takes: Qt, the scene, pyqtgraph's dispatch, the map), back to
back, each to a random place over the data. For each event: the wall time until it returns
(GUI-thread time, which includes asking the worker for a decode), and whether the map acted
on it (the cursor moved). Run once with pyqtgraph's mouse rate limit off (the app's setting)
and once at pyqtgraph's default of 100 per second, which drops moves that come sooner.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg
from PySide6 import QtCore, QtTest

from explorer.qt.app import application
from explorer.qt.main_window import MainWindow


def measure(window: MainWindow, moves: int, seed: int) -> tuple[np.ndarray, int]:
    app, state, viewport = application(), window.state, window.map.viewport()
    lo, hi = state.coords.min(0), state.coords.max(0)
    times, handled = [], 0
    for xy in lo + np.random.default_rng(seed).random((moves, 2)) * (hi - lo):
        pixel = window.map.mapFromScene(window.map.scene_point(xy))
        before = state.cursor
        t0 = time.perf_counter()
        QtTest.QTest.mouseMove(viewport, pixel)
        times.append(time.perf_counter() - t0)
        handled += state.cursor is not before
        app.processEvents()  # results of the worker, repaints: what happens between two moves
    return np.array(times) * 1000, handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:faces")
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    app = application()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow("builtin:faces", args.data, device="cpu", settings=settings)
    window.show()
    while not window.state.ready:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    for _ in range(50):
        app.processEvents()
    print(f"{args.data}: {len(window.state.coords):,} points, {QtCore.QCoreApplication.instance().platformName()}")
    for round_ in range(args.rounds):
        for limit in (-1, 100):
            pg.setConfigOptions(mouseRateLimit=limit)
            ms, handled = measure(window, args.moves, seed=round_)
            print(
                f"mouseRateLimit {'off' if limit < 0 else limit:>3}: "
                f"per QMouseEvent p50 {np.percentile(ms, 50):.2f} ms, "
                f"p95 {np.percentile(ms, 95):.2f} ms; moves acted on {handled}/{args.moves}"
            )
    pg.setConfigOptions(mouseRateLimit=-1)
    window.close()


if __name__ == "__main__":
    main()
