"""GUI-thread time of a real mouse move over the map, and how many moves the map handles
(figures in docs/benchmarks.md).

    python benchmarks/mouse_events.py [--data builtin:faces] [--points N] [--moves 300] [--rounds 2]

Opens the real window on the bundled pair and sends QMouseEvents to the map's viewport (the
path a user's mouse takes: Qt's view, the scene, pyqtgraph's dispatch, the map), back to
back, each to a random place over the data. For each event: the wall time until it returns
(GUI-thread time, which includes asking the worker for a decode), the GUI thread's CPU time
meanwhile (the same, less the time other processes of a shared machine took the core), and
whether the map acted on it (the cursor moved). Then, apart, the GUI thread's CPU time in the
event loop until the next move: the repaints and worker results the move caused. Run once
with pyqtgraph's mouse rate limit off (the app's setting) and once at pyqtgraph's default of
100 per second, which drops moves that come sooner.

--points N replaces the data, once the window is up, with N synthetic points in the bundled
model's latent space (e.g. 1000000: a map larger than any bundled dataset); the model still
decodes the cursor.
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
from gui_tools import send_move, synthetic_encodings
from PySide6 import QtCore

from explorer.core.data import Dataset
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.app import application
from explorer.qt.main_window import MainWindow


def use_synthetic_points(state: ExplorerState, n: int) -> None:
    """n points in the model's latent space, drawn like map_render.py's. Every image is the first
    real one (a broadcast view, no copies), so the panels show images of the real size; the
    labels are continuous, so no label vectors are fitted meanwhile."""
    rng = np.random.default_rng(0)
    d = state.latent_dim
    mu = (rng.normal(size=(n, d)) * np.linspace(3, 0.5, d)).astype(np.float32)
    images = np.broadcast_to(state.dataset.images[:1], (n, *state.dataset.images.shape[1:]))
    state.set_dataset(
        Dataset(
            f"synthetic:{n}", images, rng.random((n, 2)).astype(np.float32), ("x", "y"), fingerprint=f"synthetic-{n}"
        )
    )
    state.set_encodings(synthetic_encodings(mu, rng))


def open_window(data: str, points: int = 0) -> MainWindow:
    """The real window on the bundled model, its map ready and idle."""
    app = application()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow("builtin:faces", data, device="cpu", settings=settings)
    window.show()
    while not window.state.ready:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    if points:
        use_synthetic_points(window.state, points)
    while not (window.state.ready and window.controller.idle):  # the map is built off the GUI thread
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    for _ in range(50):
        app.processEvents()
    return window


def measure(window: MainWindow, moves: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Wall and GUI-thread CPU time (ms) of each of `moves` QMouseEvents, the CPU time of the
    event loop after each, and how many moved the cursor."""
    app, state, viewport = application(), window.state, window.map.viewport()
    lo, hi = state.coords.min(0), state.coords.max(0)
    wall, cpu, after, handled = [], [], [], 0
    for xy in lo + np.random.default_rng(seed).random((moves, 2)) * (hi - lo):
        pixel = window.map.mapFromScene(window.map.scene_point(xy))
        before = state.cursor
        t0, c0 = time.perf_counter(), time.thread_time()
        send_move(viewport, pixel)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        handled += state.cursor is not before
        c0 = time.thread_time()
        app.processEvents()  # results of the worker, repaints: what happens between two moves
        after.append(time.thread_time() - c0)
    return np.array(wall) * 1000, np.array(cpu) * 1000, np.array(after) * 1000, handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:faces")
    parser.add_argument("--points", type=int, default=0, help="replace the data with N synthetic points")
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    window = open_window(args.data, args.points)
    data = f"synthetic ({args.data}'s model)" if args.points else args.data
    print(f"{data}: {len(window.state.coords):,} points, {QtCore.QCoreApplication.instance().platformName()}")
    for round_ in range(args.rounds):
        for limit in (-1, 100):
            pg.setConfigOptions(mouseRateLimit=limit)
            wall, cpu, after, handled = measure(window, args.moves, seed=round_)
            print(
                f"mouseRateLimit {'off' if limit < 0 else limit:>3}: "
                f"per QMouseEvent p50 {np.percentile(wall, 50):.2f} ms, "
                f"p95 {np.percentile(wall, 95):.2f} ms (CPU p50 {np.percentile(cpu, 50):.2f} ms, "
                f"p95 {np.percentile(cpu, 95):.2f} ms); moves acted on {handled}/{args.moves}; "
                f"then the event loop: CPU p50 {np.percentile(after, 50):.2f} ms"
            )
    pg.setConfigOptions(mouseRateLimit=-1)
    window.close()


if __name__ == "__main__":
    main()
