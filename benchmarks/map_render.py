"""Frame times of the latent map at large sizes (figures in docs/benchmarks.md).

    python benchmarks/map_render.py [--points 100000] [--frames 60]

Builds the real LatentMap on synthetic encodings (16-D latents, 4 binary and 2 continuous
labels; no model needed) and times, each as a forced repaint of the widget (grab()):
drawing the map after a projection change, recolouring by a binary label and by a
continuous one, and, each sent as a user's real mouse events to the map's viewport, a pan
step (a move while the middle button drags), a zoom step (a wheel notch) and a hover move
(the overlays change).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui_tools import Button, send_mouse, send_move, send_wheel, synthetic_encodings
from PySide6 import QtCore

from explorer.core.data import Dataset
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.app import application
from explorer.qt.latent_map import LatentMap
from explorer_models.vae import ModelInfo


def synthetic_state(n: int, d: int = 16) -> ExplorerState:
    rng = np.random.default_rng(0)
    mu = (rng.normal(size=(n, d)) * np.linspace(3, 0.5, d)).astype(np.float32)
    labels = np.concatenate([(rng.random((n, 4)) < 0.5), rng.random((n, 2))], 1).astype(np.float32)
    names = ("a", "b", "c", "d", "x", "y")
    ds = Dataset("synthetic", np.zeros((n, 1, 1, 3), np.uint8), labels, names, fingerprint="synthetic")
    state = ExplorerState()
    state.set_model(ModelInfo(name="synthetic"), d, "none")
    state.set_dataset(ds)
    state.set_encodings(synthetic_encodings(mu, rng))
    return state


def timed(fn, repeats: int) -> np.ndarray:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args()
    app = application()
    state = synthetic_state(args.points)
    view = LatentMap(state)
    view.resize(1000, 750)
    view.show()
    for _ in range(5):
        app.processEvents()
        view.grab()
    vb = view.plotItem.vb
    lo, hi = state.coords.min(0), state.coords.max(0)
    rng = np.random.default_rng(1)

    def redraw(action):
        return lambda: (action(), view.grab())

    viewport = view.viewport()
    centre = viewport.rect().center()
    Press, Release = QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease
    dragged = [centre]

    def drag_step():  # the middle button (pan) is down since the press below; each frame drags 4 px on
        dragged[0] = dragged[0] + QtCore.QPoint(4 if len(ms_pan) % 40 < 20 else -4, 0)
        send_mouse(viewport, dragged[0], held=Button.MiddleButton)

    def hover():
        send_move(viewport, view.mapFromScene(view.scene_point(lo + rng.random(2) * (hi - lo))))

    rows = {
        "draw after a projection change": timed(redraw(state.set_pca), 5),
        "recolour, binary label": timed(redraw(lambda: state.set_colour("a")), 5),
        "recolour, continuous label": timed(redraw(lambda: state.set_colour("x")), 5),
    }
    before = np.array(vb.viewRange())
    send_move(viewport, centre)
    send_mouse(viewport, centre, Press, Button.MiddleButton, Button.MiddleButton)
    ms_pan: list = []
    for _ in range(args.frames):
        ms_pan.append(timed(redraw(drag_step), 1)[0])
    send_mouse(viewport, dragged[0], Release, Button.MiddleButton)
    rows["pan step (drag)"] = np.array(ms_pan)
    panned = np.array(vb.viewRange())
    assert not np.allclose(before, panned), "the drag did not pan the map"
    rows["zoom step (wheel)"] = timed(
        redraw(lambda: send_wheel(viewport, centre, 1 if rng.random() < 0.5 else -1)), args.frames
    )
    assert not np.allclose(panned, vb.viewRange()), "the wheel did not zoom the map"
    rows["hover move (overlays change)"] = timed(redraw(hover), args.frames)
    print(f"{args.points:,} points, map 1000x750, Qt platform {app.platformName()}, {os.cpu_count()} CPUs")
    for name, ms in rows.items():
        print(f"  {name:<32} median {np.median(ms):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms")
    view.close()


if __name__ == "__main__":
    main()
