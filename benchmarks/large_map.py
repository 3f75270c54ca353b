"""A large map in the real window, as a user drives it (figures in docs/benchmarks.md).

    python benchmarks/large_map.py [--points 1000000] [--steps 60] [--json PATH]

Opens N synthetic latents (as benchmarks/open_million.py writes them: 16-D, 12 clusters, two
binary labels and the per-point terms) in the real window, then:
- recolours by choosing each colour in the map bar's Colour box, timed from the choice until
  the map shows the image of the new colours;
- pans with a middle-button drag (real QMouseEvents on the map's viewport, 8 px a step; with the whole map in view, and
  zoomed in) and
  zooms with real wheel notches, each step timed two ways: the frame (the event and the repaint
  it causes, on the GUI thread) and the catch-up (from the event until the map shows the image
  drawn for exactly the new view; until then the last image is shown moved and scaled);
- drags for 3 s with a move every 16 ms, as a hand does, whether or not the last image has come:
  each move's frame, the GUI thread's longest gap, and the new images shown a second;
- looks up the nearest data point of 2,000 random map points (the KD-tree the cursor uses).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui_tools import Button, StallMeter, figure_key, send_mouse, send_move, send_wheel, write_figures
from open_million import open_job, write_latents
from PySide6 import QtCore

from explorer.qt.app import application
from explorer.qt.main_window import MainWindow
from explorer.worker import dataset_jobs


def percentiles(ms) -> str:
    ms = np.asarray(ms)
    return f"median {np.median(ms):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=60, help="pan and zoom steps")
    parser.add_argument("--screenshot", metavar="PNG", help="save the window after the last pan")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH (for python -m benchmarks)")
    args = parser.parse_args()
    app = application()
    folder = Path(tempfile.mkdtemp())
    write_latents(folder, args.points)
    settings = QtCore.QSettings(str(folder / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow("builtin:faces", "builtin:faces:test", device="cpu", settings=settings)
    window.resize(1500, 920)
    window.show()

    def wait(done, limit: float = 120.0) -> None:
        end = time.perf_counter() + limit
        while not done():
            if time.perf_counter() > end:
                raise TimeoutError("the window did not get there")
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 1)

    state, points = window.state, window.map._points
    wait(lambda: state.ready and window.controller.idle)
    dataset_jobs.open_dataset = lambda spec, labels=None: open_job(folder)
    window.controller.open_dataset("synthetic")
    wait(lambda: state.ready and window.controller.idle and len(state.dataset) == args.points)

    def image_current() -> bool:
        """The map shows the image drawn for its current points, colours and view."""
        return points.image_is_current()

    viewport = window.map.viewport()
    window.map.viewport().repaint()
    wait(image_current)
    rows: dict[str, list[float]] = {}
    combo = window.controls.colour
    keys = [combo.itemText(i) for i in range(combo.count())]
    for _ in range(3):
        for key in keys:
            t0 = time.perf_counter()
            combo.setCurrentText(key)
            wait(lambda key=key: state.colour_key == key and image_current())
            rows.setdefault("recolour (choice to new image)", []).append((time.perf_counter() - t0) * 1e3)

    def step(name: str, send) -> None:
        t0 = time.perf_counter()
        send()
        viewport.repaint()  # the frame this event causes, now
        t1 = time.perf_counter()
        wait(image_current)
        t2 = time.perf_counter()
        rows.setdefault(f"{name}: frame", []).append((t1 - t0) * 1e3)
        rows.setdefault(f"{name}: catch-up", []).append((t2 - t0) * 1e3)
        shown = points.shown_image()  # (none below point_cloud.IMAGE_ABOVE: the points are painted)
        if shown is not None:
            rows.setdefault(f"{name}: points in view", []).append(shown.in_view)

    centre = viewport.rect().center()

    def pan(name: str) -> None:
        send_move(viewport, centre)
        send_mouse(viewport, centre, QtCore.QEvent.Type.MouseButtonPress, Button.MiddleButton, Button.MiddleButton)
        at = [centre]
        for i in range(args.steps):
            at[0] = at[0] + QtCore.QPoint(8 if i % 40 < 20 else -8, 0)
            step(name, lambda: send_mouse(viewport, at[0], held=Button.MiddleButton))
        send_mouse(viewport, at[0], QtCore.QEvent.Type.MouseButtonRelease, Button.MiddleButton)

    def drag_continuously(name: str, seconds: float = 3.0) -> None:
        """A middle-button drag as a hand makes it: a move every 16 ms (60 a second) whether or
        not the last image has come, with the compute thread drawing images meanwhile. Each
        move's frame (the event and its repaint), the GUI thread's longest gap (a 1 ms timer),
        and how many new images of the moving view were shown a second (each drawn for a view
        a move or two old, and shown moved to where its points now are). Right, then back left
        as far: the view ends where it began."""
        meter, shown, frames = StallMeter(), set(), []
        send_move(viewport, centre)
        send_mouse(viewport, centre, QtCore.QEvent.Type.MouseButtonPress, Button.MiddleButton, Button.MiddleButton)
        at, start = centre, time.perf_counter()
        meter.start()
        due = start
        while (now := time.perf_counter()) < start + seconds:
            if now >= due:
                due += 0.016
                at = at + QtCore.QPoint(4 if now - start < seconds / 2 else -4, 0)
                t0 = time.perf_counter()
                send_mouse(viewport, at, held=Button.MiddleButton)
                viewport.repaint()
                frames.append((time.perf_counter() - t0) * 1e3)
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 1)
            if points.shown_image() is not None:
                shown.add(id(points.shown_image()))
        meter.stop()
        send_mouse(viewport, at, QtCore.QEvent.Type.MouseButtonRelease, Button.MiddleButton)
        rows[f"{name}: frame"] = frames
        rows[f"{name}: longest GUI gap"] = [float(meter.gaps_ms().max())]
        rows[f"{name}: new images a second"] = [len(shown) / seconds]

    drag_continuously("drag at 60 moves a second")
    pan("pan step, whole map")
    for i in range(args.steps):  # in 10 notches, out 10, ...: from the whole map to 1/60 of it and back
        notch = 1 if (i // 10) % 2 == 0 else -1
        step("zoom step (wheel)", lambda notch=notch: send_wheel(viewport, centre, notch))
    for _ in range(6):
        send_wheel(viewport, centre, 1)
    pan("pan step, zoomed in 3x")
    if args.screenshot:
        viewport.repaint()
        wait(image_current)
        window.grab().save(args.screenshot)

    rng = np.random.default_rng(0)
    lo, hi = state.map.lo, state.map.hi
    nearest = []
    for xy in lo + rng.random((2000, 2)) * (hi - lo):
        t0 = time.perf_counter()
        state.map.index.nearest(xy)
        nearest.append((time.perf_counter() - t0) * 1e3)
    rows["nearest data point (KD-tree)"] = nearest

    print(f"{args.points:,} points, window 1500x920, Qt platform {app.platformName()}, {os.cpu_count()} CPUs")
    figures = {}  # each row's p50 and p95 (points in view: min and max), keyed by its name
    for name, values in rows.items():
        key = figure_key(name)
        if name.endswith("images a second"):
            print(f"  {name:<36} {values[0]:.1f}")
            figures[key] = float(values[0])
        elif name.endswith("points in view"):
            print(f"  {name:<36} {int(min(values)):,} .. {int(max(values)):,}")
            figures.update({f"{key}_min": int(min(values)), f"{key}_max": int(max(values))})
        else:
            print(f"  {name:<36} {percentiles(values)}")
            figures.update(
                {f"{key}_p50_ms": float(np.median(values)), f"{key}_p95_ms": float(np.percentile(values, 95))}
            )
    write_figures(args.json, figures, points=args.points, steps=args.steps, qt_platform=app.platformName())
    window.close()


if __name__ == "__main__":
    main()
