"""Cursor-to-image latency and GUI-thread stalls of the real window (figures in docs/benchmarks.md).

    python benchmarks/latency.py [--model SPEC] [--data SPEC] [--device auto|cpu|cuda]
                                 [--rate 250] [--gestures 60] [--moves 40] [--json PATH]

1. Opens the window on the bundled pair with an empty encodings cache, so the dataset really
   encodes. Meanwhile a 1 ms timer on the GUI thread records the gaps between its ticks; the
   longest gap beyond the interval is the longest GUI-thread stall while encoding. The map's
   one-off build when encoding ends is reported separately.
2. Then it drives the map the way a hand does: gestures of --moves mouse moves at --rate per
   second, each a real QMouseEvent sent to the map's viewport (through Qt's view, the scene
   and pyqtgraph's dispatch, as a user's mouse), each gesture followed by a 150 ms rest.
   Per event: the GUI-thread time until it returns, wall and CPU (the CPU time leaves out what
   other processes of a shared machine took). Latency runs from a move's event to the
   moment decodedView is given the image decoded for that move. Moves whose decode was
   replaced by a newer one (latest wins) have no latency of their own. It also counts how
   often the final position of a gesture is what decodedView shows at the end of the rest.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen: render offscreen
os.environ["VAE_EXPLORER_CACHE_DIR"] = tempfile.mkdtemp(prefix="vae-explorer-bench-")

from gui_tools import StallMeter, send_move, write_figures
from PySide6 import QtCore

from explorer.qt.app import application
from explorer.qt.main_window import MainWindow


def pct(values, q) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def raw_encode_rate(model_spec: str, data_spec: str, device: str, n: int = 5000) -> float:
    """Images/s of the same per-image terms computed in plain batches of 512, no app around."""
    import torch

    from explorer.core.data import load_dataset
    from explorer_models import load_model, resolve_device
    from explorer_models.evaluation import per_image_terms
    from explorer_models.vae import images_to_tensor

    dev = resolve_device(device)
    model = load_model(model_spec).to(dev)
    images = load_dataset(data_spec).images[:n]
    per_image_terms(model, images_to_tensor(images[:512]).to(dev), sample=False)  # warm up
    t0 = time.perf_counter()
    for start in range(0, len(images), 512):
        terms = per_image_terms(model, images_to_tensor(images[start : start + 512]).to(dev), sample=False)
        terms["mu"].cpu()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - t0)


def run_until(condition, check_ms: int = 20) -> None:
    """Run the event loop idle (as app.exec() would) until condition() holds."""
    loop = QtCore.QEventLoop()
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: condition() and loop.quit())
    timer.start(check_ms)
    loop.exec()
    timer.stop()


def wait(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)


def _grid_keyframes(state):
    """Two sets of four corner keyframes: switching between them makes a new 32x32 grid to decode."""
    from explorer.core.figures import figure as F

    state.strip.set_spec(kind=F.GRID, rows=32, cols=32)
    mu = state.encodings.mu
    return [[F.Keyframe.data_point(mu, i) for i in corners] for corners in ((1, 2, 3, 4), (5, 6, 7, 8))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:faces")
    ap.add_argument("--data", default="builtin:faces")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rate", type=float, default=250.0, help="mouse moves per second within a gesture")
    ap.add_argument("--gestures", type=int, default=60)
    ap.add_argument("--moves", type=int, default=40, help="moves per gesture")
    ap.add_argument(
        "--during-grid", action="store_true", help="ask for a new 32x32 grid (1,024 decodes) as each gesture starts"
    )
    ap.add_argument(
        "--hover-only", action="store_true", help="skip the second encoding (throughput) and the raw forward rate"
    )
    ap.add_argument("--json", metavar="PATH", help="also write the figures to PATH (for python -m benchmarks)")
    args = ap.parse_args()

    app = application()
    settings = QtCore.QSettings(
        os.path.join(os.environ["VAE_EXPLORER_CACHE_DIR"], "s.ini"), QtCore.QSettings.Format.IniFormat
    )
    meter = StallMeter()
    encode_window = {}
    window = MainWindow(args.model, args.data, device=args.device, settings=settings)
    state = window.state

    def on_progress(done, total, what):
        if what == "encoding" and "start" not in encode_window:
            encode_window["start"] = time.perf_counter()
            meter.start()
        if total == 0 and "start" in encode_window and "end" not in encode_window:
            encode_window["end"] = time.perf_counter()
            meter.stop()

    window.controller.progress.connect(on_progress)
    built = {}
    state.projection_changed.connect(lambda: built.setdefault("t", time.perf_counter()))
    window.show()
    t_open = time.perf_counter()
    run_until(lambda: state.ready)
    if state.dataset.binary_label_names():  # the label vectors are offered right after encoding
        run_until(lambda: len(state.sliders.vectors) > 0)
    wait(app, 1.0)  # idle before timing anything
    encode_gaps = np.array(meter.gaps[1:]) * 1e3 if meter.gaps else np.zeros(0)

    # a map build, asked for and swapped in (built on the compute thread meanwhile)
    t0, before_map = time.perf_counter(), state.map
    state.set_pca()
    run_until(lambda: state.map is not before_map and window.controller.idle)
    build_ms = (time.perf_counter() - t0) * 1e3
    grids = _grid_keyframes(state) if args.during_grid else None

    # -- hovering --------------------------------------------------------------------------
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []
    view = window.decoder_panel.decoded
    original_set_image = view.set_image

    def timed_set_image(image, caption=None):
        shown = state.decoded.get("cursor")
        if shown is not None:
            t_event = sent_at.get(shown.latents[0].tobytes())
            if t_event is not None:
                latencies.append((time.perf_counter() - t_event) * 1e3)
        original_set_image(image, caption)

    view.set_image = timed_set_image
    rng = np.random.default_rng(0)
    lo, hi = np.percentile(state.coords, [2, 98], axis=0)
    interval = 1.0 / args.rate
    viewport, event_ms, event_cpu_ms = window.map.viewport(), [], []
    final_shown, achieved = 0, []
    for gesture in range(args.gestures):
        if grids is not None:  # a grid the model thread decodes in chunks while the mouse moves
            state.strip.set_keyframes(grids[gesture % 2])
        a, b = lo + rng.random(2) * (hi - lo), lo + rng.random(2) * (hi - lo)
        path = a + np.linspace(0, 1, args.moves)[:, None] * (b - a)
        t_start = time.perf_counter()
        for k, xy in enumerate(path):
            due = t_start + k * interval
            while time.perf_counter() < due:
                app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 1)
            pixel = window.map.mapFromScene(window.map.scene_point(xy))
            before = state.cursor
            t_event, c_event = time.perf_counter(), time.thread_time()
            send_move(viewport, pixel)
            event_ms.append((time.perf_counter() - t_event) * 1e3)
            event_cpu_ms.append((time.thread_time() - c_event) * 1e3)
            if state.cursor is not before:  # (a move to the pixel of the last one is no new cursor)
                sent_at[state.cursor.latent.tobytes()] = t_event
        achieved.append((args.moves - 1) / (time.perf_counter() - t_start))
        wait(app, 0.15)
        last = state.cursor.latent
        shown = state.decoded.get("cursor")
        final_shown += shown is not None and np.array_equal(shown.latents[0], last)

    lat, per_event, per_event_cpu = np.array(latencies), np.array(event_ms), np.array(event_cpu_ms)
    device = state.device_name
    n_points = len(state.coords)
    stall_pass_s = encode_window.get("end", 0) - encode_window.get("start", 0)

    about = dict(device=device, points=n_points, data=args.data, qt_platform=app.platformName())
    if args.hover_only:
        window.close()
        figures = _report_hover(args, state, achieved, lat, per_event, per_event_cpu, final_shown, build_ms)
        write_figures(args.json, figures, **about)
        return

    # -- encoding throughput: encode again from an empty cache, without the 1 ms timer ------
    # (on 2 cores the timer's own wake-ups halve the encoding rate; it measures stalls only)
    shutil.rmtree(os.path.join(os.environ["VAE_EXPLORER_CACHE_DIR"], "encodings"))
    encode_window.clear()
    meter.start = meter.stop = lambda: None
    window.controller.open_dataset(args.data)
    run_until(lambda: "end" in encode_window)
    encode_s = encode_window["end"] - encode_window["start"]
    window.close()
    raw_rate = raw_encode_rate(args.model, args.data, args.device)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, Qt platform {app.platformName()}; model on {device}"
    )
    print(
        f"dataset {args.data}: encoded in {encode_s:.1f} s = {n_points / encode_s:,.0f} images/s in the app "
        f"({stall_pass_s:.1f} s with the stall timer running); "
        f"raw forward (batches of 512, same terms) {raw_rate:,.0f} images/s; "
        f"ratio {n_points / encode_s / raw_rate:.2f} "
        f"(window open to map ready {built.get('t', 0) - t_open:.1f} s, dataset rendering included)"
    )
    print(
        f"GUI-thread stall while encoding (1 ms timer, {len(encode_gaps)} ticks): longest "
        f"{encode_gaps.max() if len(encode_gaps) else float('nan'):.1f} ms, p99 {pct(encode_gaps, 99):.1f} ms"
    )
    figures = _report_hover(args, state, achieved, lat, per_event, per_event_cpu, final_shown, build_ms)
    figures.update(
        encode_images_per_s=n_points / encode_s,
        raw_images_per_s=raw_rate,
        encode_ratio=n_points / encode_s / raw_rate,
        stall_max_ms=float(encode_gaps.max()) if len(encode_gaps) else float("nan"),
        stall_p99_ms=pct(encode_gaps, 99),
    )
    write_figures(args.json, figures, **about)


def _report_hover(args, state, achieved, lat, per_event, per_event_cpu, final_shown, build_ms) -> dict:
    n = len(state.coords)
    print(f"a map build (PCA, KD-trees on the compute thread, {n:,} points), asked to shown: {build_ms:.1f} ms")
    if args.during_grid:
        print("each gesture started a new 32x32 grid (1,024 latents) on the model thread")
    print(
        f"hover: {args.gestures} gestures x {args.moves} moves at {np.median(achieved):.0f} moves/s "
        f"(asked {args.rate:.0f}); {len(lat)} images shown"
    )
    print(
        f"latency mouse event -> image set on decodedView: p50 {pct(lat, 50):.2f} ms, p95 {pct(lat, 95):.2f} ms, "
        f"p99 {pct(lat, 99):.2f} ms, max {lat.max():.2f} ms; GUI-thread time per QMouseEvent: "
        f"p50 {pct(per_event, 50):.2f} ms, p95 {pct(per_event, 95):.2f} ms "
        f"(CPU p50 {pct(per_event_cpu, 50):.2f} ms, p95 {pct(per_event_cpu, 95):.2f} ms)"
    )
    print(f"final position of a gesture shown after a 150 ms rest: {final_shown}/{args.gestures}")
    return dict(
        map_build_ms=build_ms,
        moves_per_s=float(np.median(achieved)),
        images_shown=len(lat),
        latency_p50_ms=pct(lat, 50),
        latency_p95_ms=pct(lat, 95),
        latency_p99_ms=pct(lat, 99),
        event_wall_p50_ms=pct(per_event, 50),
        event_wall_p95_ms=pct(per_event, 95),
        event_cpu_p50_ms=pct(per_event_cpu, 50),
        event_cpu_p95_ms=pct(per_event_cpu, 95),
        final_shown=int(final_shown),
        gestures=args.gestures,
    )


if __name__ == "__main__":
    sys.exit(main())
