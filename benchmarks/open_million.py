"""GUI-thread stall while a 1,000,000-point latents file is opened and mapped (figures in
docs/benchmarks.md).

    python benchmarks/open_million.py [--points 1000000] [--profile]

Writes synthetic latents for the bundled model (16 dimensions, two binary labels) as
memory-mapped .npy columns, then opens them in the real window: the model thread reads the
columns, the compute thread builds the map (PCA, both KD-trees, the support meter, the
colouring), the GUI thread swaps the results in and draws. A 1 ms timer on the GUI thread
records its gaps from the moment the dataset is asked for until the map is drawn and every
request is answered; the longest gap is the stall a user would feel.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui_tools import StallMeter
from PySide6 import QtCore

from explorer.core.data import Dataset
from explorer.core.store.encoding import Encodings
from explorer.qt.app import application
from explorer.qt.main_window import MainWindow
from explorer.worker import dataset_jobs
from explorer.worker.requests import OpenedDataset

COLUMNS = ("mu", "logvar", "recon", "kl", "mse")


def write_latents(folder: Path, n: int, d: int = 16, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (12, d))
    which = rng.integers(0, len(centres), n)
    columns = {
        "mu": (centres[which] + rng.normal(0, 0.5, (n, d))).astype(np.float32),
        "logvar": rng.normal(-2, 0.3, (n, d)).astype(np.float32),
        "recon": rng.gamma(2, 50, n).astype(np.float32),
        "kl": rng.gamma(3, 5, n).astype(np.float32),
        "mse": rng.gamma(2, 0.002, n).astype(np.float32),
        "labels": np.stack([which % 2 == 0, rng.random(n) < 0.3], 1).astype(np.float32),
    }
    for name, values in columns.items():
        np.save(folder / f"{name}.npy", values)


def open_job(folder: Path):
    """A dataset job that opens the columns memory-mapped (as the latents store does)."""

    def start(model, device):
        labels = np.load(folder / "labels.npy", mmap_mode="r")
        n = len(labels)
        images = np.zeros((n, 1, 1, 3), np.uint8)  # latents only: no pictures behind the points
        dataset = Dataset(f"synthetic:{n}", images, np.asarray(labels), ("even", "rare"), f"synthetic-{n}")
        encodings = Encodings(**{c: np.load(folder / f"{c}.npy", mmap_mode="r") for c in COLUMNS})
        return OpenedDataset(dataset, None, encodings)
        yield

    return start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--screenshot", metavar="PNG", help="save the window once the last map is drawn")
    parser.add_argument("--profile", action="store_true", help="print where the GUI thread spent its time")
    args = parser.parse_args()
    app = application()
    folder = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    write_latents(folder, args.points)
    print(f"wrote {args.points:,} synthetic latents in {time.perf_counter() - t0:.1f} s")
    settings = QtCore.QSettings(str(folder / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow("builtin:faces", "builtin:faces:test", device="cpu", settings=settings)
    window.resize(1500, 920)
    window.show()
    while not (window.state.ready and window.controller.idle):
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    dataset_jobs.open_dataset = lambda spec, labels=None: open_job(folder)
    meter = StallMeter()
    profile = cProfile.Profile() if args.profile else None  # profiles this (the GUI) thread only
    for round_ in range(args.rounds):
        if profile is not None:
            profile.enable()
        meter.start()
        t_open = time.perf_counter()
        window.controller.open_dataset(f"synthetic round {round_}")
        while not (window.state.ready and window.controller.idle and len(window.state.dataset) == args.points):
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        window.map.viewport().repaint()  # the first frame of the new map, as the next paint would draw it
        app.processEvents()
        meter.stop()
        if profile is not None:
            profile.disable()
        gaps = meter.gaps_ms()
        print(
            f"round {round_ + 1}: open to map drawn {time.perf_counter() - t_open:.2f} s; GUI-thread gaps "
            f"({len(gaps)} ticks): longest {gaps.max():.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, "
            f"gaps over 16.7 ms: {int((gaps > 16.7).sum())}"
        )
    if args.screenshot:
        window.map.viewport().repaint()
        while not window.controller.idle:  # the raster the repaint asked for
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        window.grab().save(args.screenshot)
    window.close()
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
