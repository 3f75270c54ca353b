"""Resident memory over a storm of real mouse moves (figures in docs/benchmarks.md).

    python benchmarks/memory_storm.py [--moves 20000] [--warmup 2000] [--every 1000]
                                      [--only moves|no-decode|no-display] [--tracemalloc]

Opens the real window on the bundled pair, waits for the map and its label vectors, then
sends QMouseEvents to the map's viewport with QTest, each to a random place over the data,
and lets the event loop run between two moves, as a user's does. Between the moves, as a user
would: an attribute slider moves (every 25 moves), the strip changes (steps, method, a
keyframe shift-clicked in or removed; every 100), the map's colouring changes (every 500),
and twice in the storm the strip becomes a 32x32 grid for a while. The warm-up is the same mix
(one grid included), so one-off caches and high-water marks are filled before the baseline. It
also maps in the dataset's images: a memory-mapped file (245 MB for the bundled faces) whose
pages become resident as the panels show them, about 2,000 moves' worth.

Reports resident memory (RSS, from /proc/self/statm) after the warm-up and every --every
moves, and its growth; split into anonymous memory (heap, tensors) and file-backed (libraries,
the dataset's mapping), with glibc's own count of what its heaps hold. Also the number of
Python objects the collector tracks, and the threads.
--only bisects where memory goes: "moves" (hover only, nothing else changes), "no-decode"
(the whole mix, but no model call: the worker answers with a blank image), "no-display"
(the whole mix, decoded, but no panel shows the images).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import resource
import tempfile
import threading
import time

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg
from PySide6 import QtCore, QtTest

from explorer.core.figures import figure as F
from explorer.qt.app import application
from explorer.qt.main_window import MainWindow

PAGE = os.sysconf("SC_PAGE_SIZE")
SLIDER_EVERY, STRIP_EVERY, COLOUR_EVERY = 25, 100, 500
GRID_MOVES = 300  # moves hovered while a grid is the strip's figure


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def rss_parts() -> str:
    """Anonymous (heap, tensors) and file-backed (the memory-mapped dataset, libraries) RSS."""
    with open("/proc/self/status") as f:
        kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("RssAnon", "RssFile")}
    return f"anon {kb['RssAnon'] / 1024:.0f} MB, file {kb['RssFile'] / 1024:.0f} MB{malloc_parts()}"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_parts() -> str:
    """glibc's view: bytes in use from its arenas, bytes free but kept there, bytes mmapped alone."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return ""
    mallinfo2.restype = _MallInfo2
    m = mallinfo2()
    mb = 2**20
    return (
        f"; malloc in use {m.uordblks / mb:.0f} MB, free in its heaps {m.fordblks / mb:.0f} MB, "
        f"mmapped {m.hblkhd / mb:.0f} MB"
    )


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


class Storm:
    def __init__(self, window: MainWindow, seed: int):
        self.window, self.app = window, application()
        self.state, self.viewport = window.state, window.map.viewport()
        self.rng = np.random.default_rng(seed)
        self.lo, self.hi = self.state.coords.min(0), self.state.coords.max(0)
        self.grid_left = 0
        self.strip_change = 0

    def pixel(self, xy=None):
        if xy is None:
            xy = self.lo + self.rng.random(2) * (self.hi - self.lo)
        return self.window.map.mapFromScene(self.window.map.scene_point(xy))

    def move(self) -> None:
        QtTest.QTest.mouseMove(self.viewport, self.pixel())
        self.app.processEvents()  # results of the worker, repaints: what happens between two moves

    def click(self, modifier=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
        QtTest.QTest.mouseClick(self.viewport, QtCore.Qt.MouseButton.LeftButton, modifier, self.pixel())
        self.app.processEvents()

    def step(self, i: int, n: int, only: str) -> None:
        """Move i of n; the other actions of the mix fall between moves."""
        self.move()
        if only == "moves":
            return
        if i % SLIDER_EVERY == SLIDER_EVERY - 1:
            rows = self.window.attribute_panel.rows
            rows[self.rng.integers(len(rows))].slider.setValue(float(self.rng.uniform(-3, 3)))
        if self.grid_left:
            self.grid_left -= 1
            if not self.grid_left:
                self.window.strip_panel.kind.setCurrentIndex(list(F.KINDS).index(F.PATH))
        elif i in (n // 3, 2 * n // 3) or (n < 3000 and i == n // 2):
            self.grid()
        elif i % STRIP_EVERY == STRIP_EVERY - 1:
            self.change_strip()
        if i % COLOUR_EVERY == COLOUR_EVERY - 1:
            colour = self.window.controls.colour
            colour.setCurrentIndex((colour.currentIndex() + 1) % colour.count())

    def change_strip(self) -> None:
        panel, strip = self.window.strip_panel, self.state.strip
        self.strip_change += 1
        what = self.strip_change % 4
        if what == 0:
            panel.steps.setValue(int(self.rng.integers(2, F.MAX_STEPS + 1)))
        elif what == 1:
            panel.method.setCurrentIndex((panel.method.currentIndex() + 1) % panel.method.count())
        elif what == 2 or len(strip.keyframes) < 3:
            self.click(QtCore.Qt.KeyboardModifier.ShiftModifier)  # a keyframe, as a user adds one
        else:
            strip.remove(int(self.rng.integers(len(strip.keyframes))))

    def grid(self) -> None:
        """The strip as a 32x32 grid of four keyframes, as the panel's controls make one."""
        panel, strip = self.window.strip_panel, self.state.strip
        while len(strip.keyframes) > 4:
            strip.remove(len(strip.keyframes) - 1)
        while len(strip.keyframes) < 4:
            self.click(QtCore.Qt.KeyboardModifier.ShiftModifier)
        panel.rows.setValue(F.MAX_SIDE)
        panel.cols.setValue(F.MAX_SIDE)
        panel.kind.setCurrentIndex(list(F.KINDS).index(F.GRID))
        self.grid_left = GRID_MOVES

    def settle(self) -> None:
        controller = self.window.controller
        while not controller.idle:
            self.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        for _ in range(20):
            self.app.processEvents()


def cripple(window: MainWindow, only: str) -> None:
    """Turn off one part of the pipeline, to attribute memory growth to it."""
    if only == "no-decode":

        def blank(latents):  # the same results, with no model call
            c, h, w = window.controller.worker.model.image_shape
            return np.zeros((len(latents), h, w, c), np.uint8)
            yield

        window.controller.worker._decode_steps = blank
    elif only == "no-display":
        window.state.decoded_changed.disconnect(window.decoder_panel._on_decoded)
        window.state.decoded_changed.disconnect(window.posterior_panel._on_decoded)
        window.state.decoded_changed.disconnect(window.strip_panel._on_decoded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:faces")
    parser.add_argument("--moves", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--every", type=int, default=1_000, help="sample memory every this many moves")
    parser.add_argument("--only", choices=("moves", "no-decode", "no-display"), default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tracemalloc", action="store_true", help="also the top Python allocation sites")
    args = parser.parse_args()
    app = application()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QtCore.QSettings.Format.IniFormat)
    pg.setConfigOptions(mouseRateLimit=-1)
    window = MainWindow("builtin:faces", args.data, device="cpu", settings=settings)
    window.show()
    while not (window.state.ready and window.attribute_panel.rows):  # the sliders come from a worker job
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    start_threads = threads()
    print(
        f"{args.data}: {len(window.state.coords):,} points, {app.platformName()}, "
        f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '-')}, only={args.only or 'all'}; "
        f"RSS at ready {rss_mb():.0f} MB ({rss_parts()})"
    )
    cripple(window, args.only)
    storm = Storm(window, args.seed)
    storm.click()  # pin a point: the sliders move it
    t0 = time.perf_counter()
    for i in range(args.warmup):
        storm.step(i, args.warmup, args.only)
    storm.settle()
    gc.collect()
    base, objects = rss_mb(), len(gc.get_objects())
    print(
        f"after warm-up ({args.warmup:,} moves, {time.perf_counter() - t0:.0f} s): RSS {base:.0f} MB "
        f"({rss_parts()}), "
        f"{objects:,} Python objects, {threads()} threads"
    )
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(10)
        snap0 = tracemalloc.take_snapshot()
    samples = []
    t0 = time.perf_counter()
    for i in range(args.moves):
        storm.step(i, args.moves, args.only)
        if (i + 1) % args.every == 0:
            samples.append(rss_mb())
            print(
                f"  {i + 1:>6,} moves  RSS {samples[-1]:7.0f} MB  ({samples[-1] - base:+5.0f}; {rss_parts()})  "
                f"{len(gc.get_objects()):,} objects  {time.perf_counter() - t0:5.0f} s",
                flush=True,
            )
    storm.settle()
    gc.collect()
    end = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"after {args.moves:,} moves: RSS {end:.0f} MB ({rss_parts()}), growth {end - base:+.0f} MB after "
        f"warm-up (peak RSS {peak:.0f} MB); {len(gc.get_objects()):,} Python objects "
        f"({len(gc.get_objects()) - objects:+,}); "
        f"threads {threads()} (at ready {start_threads}, Python {threading.active_count()}); "
        f"{args.moves / (time.perf_counter() - t0):.0f} moves/s"
    )
    if args.tracemalloc:
        top = tracemalloc.take_snapshot().compare_to(snap0, "lineno")[:8]
        print("Python allocations that grew most:")
        for stat in top:
            print(f"  {stat}")
    window.close()


if __name__ == "__main__":
    main()
