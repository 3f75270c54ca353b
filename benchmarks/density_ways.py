"""Which way draws the zoomed-out latent map of a million points fastest (issue 13).

    python benchmarks/density_ways.py [--points 1000000 100000] [--repeats 3] [--frames 10]
        [--ways ours pyramid datashader opengl] [--finest 4096] [--pyramid-level closest|finer]
        [--datashader-python /tmp/dsenv/bin/python] [--gl-python /tmp/glenv/bin/python] [--gl-size 1]

The extra Pythons are throwaway virtualenvs, e.g.
    python3 -m venv /tmp/dsenv && /tmp/dsenv/bin/pip install datashader numpy pandas
    python3 -m venv /tmp/glenv && /tmp/glenv/bin/pip install PyOpenGL
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/glenv/lib/python3.11/site-packages/dev.pth
(the second borrows the dev venv's PySide6, pyqtgraph and numpy).

Times, on the same synthetic 2-D points (10 Gaussian clusters; coloured by a binary label and
by a continuous value, both through explorer.core.maps.colouring.colour_by and flat_points)
and the same views of a 1000x750-pixel image, the time to produce the finished RGBA image of
a view, four ways:

  ours        explorer.core.maps.raster.render: per-view numpy bincounts over the points in view
              (majority colour, or the colour of the mean level; log-count brightness).
  pyramid     a numpy 2-D histogram pyramid, a prototype written here: per-cell counts of each
              colour key (categorical) or count + sum of the level (continuous) on a square grid
              (--finest cells across the data's longer side), halved level by level; a view
              resamples (area-weighted) the level whose cell is closest to a pixel (--pyramid-level
              finer: the coarsest no wider than a pixel). Built once per colouring: a recolour
              is a rebuild.
  datashader  ds.Canvas(...).points(df, 'x', 'y', agg=ds.count_cat('key')) + tf.shade(how='log'),
              or ds.mean('value') + tf.shade for the continuous colouring. Runs in the Python
              given by --datashader-python (datashader is not one of the project's dependencies);
              skipped with the reason when it cannot be imported there.
  opengl      pyqtgraph.opengl's GLScatterPlotItem (the points in a vertex buffer, one GL_POINTS
              draw) in a GLViewWidget with an orthographic camera; each frame is a forced render
              and read-back (grabFramebuffer()). Needs PyOpenGL (--gl-python) and a display: with
              none, it runs under `xvfb-run`, where Mesa's llvmpipe renders on the CPU. The table
              names the GL_RENDERER; a real GPU would give other figures.

Views: the whole data framed; zoomed 4x and 16x on the largest cluster; a pan of 30 small
shifts at the whole-data zoom; and a recolour (a new colouring's key to the finished whole
view). Each way runs in a fresh process, --repeats times over all views (each still view
--frames times); the table gives p50 and p95 per view kind as their range over the runs, and
the load average before and after each run (other work may share the machine).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout, or by another venv's Python (datashader, OpenGL)
    sys.path.insert(0, str(ROOT))

WAYS = ("ours", "pyramid", "datashader", "opengl")
KINDS = ("whole", "zoom 4x", "zoom 16x", "pan", "recolour")
COLOURINGS = ("binary", "continuous")
WIDTH, HEIGHT = 1000, 750
DIAMETER = 4.0  # the map's default point size, for views few enough points to draw as discs
PAN_STEPS, PAN_PIXELS = 30, 8
GL_ALPHA = 0.25  # each GL point's alpha: additive blending saturates at 4 points on a pixel
XVFB = ("xvfb-run", "-a", "-s", "-screen 0 1600x1000x24")


# -- the data and the views, shared by every way -----------------------------------------------
def write_data(n: int, path: Path) -> dict:
    """10 Gaussian clusters, a binary label (mostly by cluster) and a continuous value, coloured
    as the map colours them; saved for the ways' processes. Returns the shared costs."""
    from explorer.core.maps.colouring import colour_by
    from explorer.core.maps.point_groups import flat_points

    rng = np.random.default_rng(13)
    weights = np.array([0.2, 0.15, 0.12, 0.1, 0.1, 0.08, 0.08, 0.07, 0.05, 0.05])
    centres = rng.uniform(-10, 10, (10, 2))
    spreads = np.linspace(1.2, 0.3, 10)
    cluster = rng.choice(10, n, p=weights)
    coords = (centres[cluster] + rng.normal(size=(n, 2)) * spreads[cluster, None]).astype(np.float32)
    label = ((cluster % 2 == 1) ^ (rng.random(n) < 0.2)).astype(np.float64)
    value = coords[:, 0] + 0.5 * coords[:, 1] + rng.normal(size=n)
    arrays, colour_ms = {}, {}
    for name, values in zip(COLOURINGS, (label, value)):
        t0 = time.perf_counter()
        flat = flat_points(coords, colour_by(values, name))
        colour_ms[name] = (time.perf_counter() - t0) * 1e3
        arrays[f"key_{name}"] = flat.key
        arrays[f"colours_{name}"] = flat.colours
        arrays[f"continuous_{name}"] = np.array(flat.continuous)
    lo, hi = coords.min(0).astype(np.float64), coords.max(0).astype(np.float64)
    s = 0.95 * min(WIDTH / (hi[0] - lo[0]), HEIGHT / (hi[1] - lo[1]))  # framed with a margin
    np.savez(path, x=flat.x, y=flat.y, lo=lo, hi=hi, frames=view_sequence(s, (lo + hi) / 2, centres[0]), **arrays)
    return {"colour_by + flat_points ms": colour_ms}


@dataclass(frozen=True)
class Frame:
    """A view: pixel (column c, row r) has its centre at map (x0 + c / s, y0 - r / s)."""

    s: float  # pixels per map unit
    x0: float
    y0: float
    width: int = WIDTH
    height: int = HEIGHT

    def view(self):
        from explorer.core.maps.raster import View

        return View(self.s, 0.0, 0.0, -self.s, -self.x0 * self.s, self.y0 * self.s, self.width, self.height)

    def x_edges(self) -> np.ndarray:  # width + 1 pixel edges, left to right
        return self.x0 + (np.arange(self.width + 1) - 0.5) / self.s

    def y_edges(self) -> np.ndarray:  # height + 1 pixel edges, top to bottom (decreasing)
        return self.y0 - (np.arange(self.height + 1) - 0.5) / self.s

    def extent(self) -> tuple[float, float, float, float]:  # left, right, bottom, top edges
        left, top = self.x0 - 0.5 / self.s, self.y0 + 0.5 / self.s
        return left, left + self.width / self.s, top - self.height / self.s, top


def centred(s: float, centre) -> Frame:
    return Frame(s, centre[0] - (WIDTH - 1) / 2 / s, centre[1] + (HEIGHT - 1) / 2 / s)


def view_sequence(s: float, middle, cluster) -> np.ndarray:
    """(s, x0, y0) rows: whole, zoom 4x, zoom 16x, then the pan's views."""
    whole = centred(s, middle)
    rows = [whole, centred(4 * s, cluster), centred(16 * s, cluster)]
    col = row = 0
    for i in range(PAN_STEPS):  # a loop of small drags, as a hand pans
        col += round(PAN_PIXELS * math.cos(2 * math.pi * i / PAN_STEPS))
        row += round(PAN_PIXELS * math.sin(2 * math.pi * i / PAN_STEPS))
        rows.append(Frame(s, whole.x0 - col / s, whole.y0 + row / s))
    return np.array([(f.s, f.x0, f.y0) for f in rows])


@dataclass(frozen=True)
class Data:
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    frames: dict  # kind -> list of Frame
    colourings: dict  # name -> (key, colours, continuous)

    @classmethod
    def load(cls, path: str) -> Data:
        z = np.load(path)
        f = [Frame(*map(float, row)) for row in z["frames"]]
        frames = {"whole": f[:1], "zoom 4x": f[1:2], "zoom 16x": f[2:3], "pan": f[3:]}
        colourings = {c: (z[f"key_{c}"], z[f"colours_{c}"], bool(z[f"continuous_{c}"])) for c in COLOURINGS}
        return cls(z["x"], z["y"], z["lo"], z["hi"], frames, colourings)

    def flat(self, colouring: str):
        from explorer.core.maps.point_groups import FlatPoints

        key, colours, continuous = self.colourings[colouring]
        counts = tuple(int(c) for c in np.bincount(key, minlength=len(colours)))
        return FlatPoints(self.x, self.y, key, colours, continuous, counts, self.lo, self.hi)

    def pixel_index(self, frame: Frame, key_value: int | None = None) -> np.ndarray:
        """The pixel (row * width + column) of each point in view, in the pixel ours puts it in;
        only those of binary key `key_value` when given."""
        from explorer.core.maps.raster import pixels_of

        ix, iy = pixels_of(self.flat("binary"), frame.view())
        inside = (ix >= 0) & (iy >= 0) & (ix < frame.width) & (iy < frame.height)
        if key_value is not None:
            inside &= self.colourings["binary"][0] == key_value
        return iy[inside].astype(np.int64) * frame.width + ix[inside]

    def exact_counts(self, frame: Frame, key_value: int | None = None) -> np.ndarray:
        """(height, width) points per pixel."""
        cells = np.bincount(self.pixel_index(frame, key_value), minlength=frame.width * frame.height)
        return cells.reshape(frame.height, frame.width)


def packed(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """rgb (..., 3) in 0..255 and alpha (...) in [0, 1] -> premultiplied ARGB32 (uint32), as ours."""
    channels = [np.rint(rgb[..., c] * alpha).astype(np.uint32) for c in range(3)]
    return (np.rint(alpha * 255).astype(np.uint32) << 24) | (channels[0] << 16) | (channels[1] << 8) | channels[2]


# -- measuring ----------------------------------------------------------------------------------
class Runs:
    """Per run, the p50 and p95 of each (colouring, view kind), and the load around each run."""

    def __init__(self) -> None:
        self.times: dict[str, list] = {}
        self.loads: list = []
        self.notes: dict[str, str] = {}
        self.info: list[str] = []

    def add(self, colouring: str, kind: str, ms: list) -> None:
        self.times.setdefault(f"{colouring}|{kind}", []).append([float(np.percentile(ms, q)) for q in (50, 95)])

    def as_json(self) -> dict:
        return {"times": self.times, "loads": self.loads, "notes": self.notes, "info": self.info}


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1e3, out


def peak_mib(fn) -> float:
    """The peak of memory that Python and numpy allocate while fn runs (numba's and GL's not)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(data: Data, runs: Runs, repeats: int, frames: int, draw, recolour) -> None:
    """draw(colouring, frame) -> the finished image; recolour(colouring) -> the whole view's
    image after switching to that colouring (what the way must redo)."""
    for _ in range(repeats):
        before = os.getloadavg()[0]
        for colouring in COLOURINGS:
            recolour(colouring)  # the way now holds this colouring
            for kind, views in data.frames.items():
                views = views * frames if len(views) == 1 else views
                runs.add(colouring, kind, [timed(lambda c=colouring, f=f: draw(c, f))[0] for f in views])
            runs.add(colouring, "recolour", [timed(lambda c=colouring: recolour(c))[0] for _ in range(frames)])
        runs.loads.append([before, os.getloadavg()[0]])


def mib(*arrays) -> float:
    return sum(a.nbytes for a in arrays) / 2**20


# -- 1. ours ------------------------------------------------------------------------------------
def run_ours(data: Data, repeats: int, frames: int) -> Runs:
    from explorer.core.maps.raster import render

    runs = Runs()
    flats = {c: data.flat(c) for c in COLOURINGS}
    draw = lambda colouring, frame: render(flats[colouring], frame.view(), DIAMETER).pixels
    measure(data, runs, repeats, frames, draw, lambda c: draw(c, data.frames["whole"][0]))
    for kind in ("whole", "zoom 4x", "zoom 16x"):
        made = render(flats["binary"], data.frames[kind][0].view(), DIAMETER)
        runs.notes[kind] = f"{made.in_view:,} in view, {'density' if made.density else 'points'}"
    whole = data.frames["whole"][0]
    runs.info.append(
        f"ours: keeps x, y, key ({mib(data.x, data.y, flats['binary'].key):.1f} MiB); a whole view allocates "
        f"{peak_mib(lambda: render(flats['binary'], whole.view(), DIAMETER)):.0f} MiB at its peak"
    )
    return runs


# -- 2. a numpy 2-D histogram pyramid -----------------------------------------------------------
def _smallest_uint(a: np.ndarray) -> np.ndarray:
    top = int(a.max(initial=0))
    return a.astype(np.uint16 if top < 2**16 else np.uint32)


class Pyramid:
    """Per-cell sums of the points on square cells, finest level first, each next level's cells
    twice as wide. Categorical: one count plane per key (key 0, left out by a search, too).
    Continuous: the count, the sum of the shown points' levels (key), and their count when a
    search leaves some out. Counts are uint16 where they fit, else uint32; sums float32."""

    def __init__(self, data: Data, colouring: str, finest: int, pick: str = "closest", coarsest: int = 64):
        self.pick = pick
        key, self.colours, self.continuous = data.colourings[colouring]
        self.origin = data.lo
        span = data.hi - data.lo
        self.cell = float(span.max()) / finest * (1 + 1e-6)  # the last point falls inside
        nx, ny = (max(1, math.ceil(float(v) / self.cell)) for v in span)
        ix = np.minimum(((data.x - self.origin[0]) / self.cell).astype(np.int64), nx - 1)
        iy = np.minimum(((data.y - self.origin[1]) / self.cell).astype(np.int64), ny - 1)
        cell = iy * nx + ix
        size = nx * ny
        if self.continuous:
            shown = key > 0
            planes = [np.bincount(cell, minlength=size)]
            if not shown.all():
                planes.append(np.bincount(cell[shown], minlength=size))
            planes.append(np.bincount(cell[shown], weights=key[shown], minlength=size))
        else:
            planes = [np.bincount(cell[key == k], minlength=size) for k in range(len(self.colours))]
        level = [self._stored(p.reshape(ny, nx)) for p in planes]
        self.levels = [level]
        while max(level[0].shape) > coarsest:
            level = [self._stored(self._halved(p)) for p in level]
            self.levels.append(level)

    @staticmethod
    def _stored(p: np.ndarray) -> np.ndarray:
        return p.astype(np.float32) if p.dtype.kind == "f" else _smallest_uint(p)

    @staticmethod
    def _halved(p: np.ndarray) -> np.ndarray:
        ny, nx = p.shape
        if ny % 2 or nx % 2:
            p = np.pad(p, ((0, ny % 2), (0, nx % 2)))
        rows = p[0::2].astype(np.float64 if p.dtype.kind == "f" else np.uint32)
        rows += p[1::2]
        return rows[:, 0::2] + rows[:, 1::2]

    def nbytes(self) -> int:
        return sum(p.nbytes for level in self.levels for p in level)

    def level_for(self, frame: Frame) -> tuple[int, float]:
        """The level whose cell is closest to a pixel (in log scale), or with pick "finer" the
        coarsest whose cell is at most a pixel; and its cell in pixels."""
        finest_px = self.cell * frame.s
        best = -math.log2(finest_px)
        lv = int(np.clip(math.floor(best + 1e-9) if self.pick == "finer" else round(best), 0, len(self.levels) - 1))
        return lv, finest_px * 2**lv

    def counts(self, frame: Frame) -> list[np.ndarray]:
        """Each plane resampled to the view's pixels (height, width), as float64 sums."""
        lv, _ = self.level_for(frame)
        planes = self.levels[lv]
        c = self.cell * 2**lv
        ny, nx = planes[0].shape
        ex = np.clip((frame.x_edges() - self.origin[0]) / c, 0, nx)
        ey = np.clip((frame.y_edges() - self.origin[1]) / c, 0, ny)
        x0, x1 = int(ex[0]), min(nx, math.ceil(ex[-1]))
        y1, y0 = min(ny, math.ceil(ey[0])), int(ey[-1])
        if x1 <= x0 or y1 <= y0:
            return [np.zeros((frame.height, frame.width)) for _ in planes]
        return [_area_resampled(p[y0:y1, x0:x1], ex - x0, ey - y0) for p in planes]

    def image(self, frame: Frame) -> np.ndarray:
        """The finished (height, width, 4) premultiplied BGRA image, as ours makes it."""
        from explorer.core.maps.raster import FAINTEST

        planes = self.counts(frame)
        total = planes[0] if self.continuous else sum(planes)
        at = np.flatnonzero(total >= 0.5)  # lit: the pixel's share of its cells' points rounds to 1 or more
        planes = [p.ravel()[at] for p in planes]
        total = total.ravel()[at]
        colours = self.colours.astype(np.float64)
        if self.continuous:
            shown, level_sum = (planes[1] if len(planes) == 3 else total), planes[-1]
            level = level_sum / np.maximum(shown, 1e-9) - 1
            rgb = np.stack([np.interp(level, np.arange(len(colours) - 1), colours[1:, c]) for c in range(3)], 1)
        else:
            shown = total - planes[0]
            rgb = colours[1 + np.argmax(planes[1:], 0)] if len(planes) > 1 else np.zeros((len(at), 3))
        rgb[shown < 0.5] = colours[0]
        alpha = FAINTEST + (1 - FAINTEST) * np.log1p(total) / math.log1p(total.max(initial=1))
        image = np.zeros(frame.width * frame.height, np.uint32)
        image[at] = packed(rgb, alpha)
        return image.view(np.uint8).reshape(frame.height, frame.width, 4)


def _area_resampled(cells: np.ndarray, ex: np.ndarray, ey: np.ndarray) -> np.ndarray:
    """Sums over pixels of per-cell sums, each cell's points spread evenly over its area.

    ex: the pixels' column edges in cell units (increasing), ey: their row edges (decreasing:
    rows run down the image, cells up the map), both clipped to the cells. Along each axis the
    running sum at an edge is interpolated within its cell; a pixel's share is the difference."""
    a = cells.astype(np.float32)  # a row of cells holds few enough points for float32 running sums
    ny, nx = a.shape
    run = np.zeros((ny, nx + 1), np.float32)
    np.cumsum(a, axis=1, out=run[:, 1:])
    i = np.minimum(ex.astype(np.int64), nx - 1)
    at = run[:, i] + (ex - i).astype(np.float32) * a[:, i]
    columns = np.diff(at, axis=1)  # (cell rows, width)
    run = np.zeros((ny + 1, columns.shape[1]))  # float64: these run up to all the points
    np.cumsum(columns, axis=0, out=run[1:])
    j = np.minimum(ey.astype(np.int64), ny - 1)
    at = run[j] + (ey - j)[:, None] * columns[j]
    return np.maximum(at[:-1] - at[1:], 0)


def run_pyramid(data: Data, repeats: int, frames: int, finest: int, pick: str) -> Runs:
    runs = Runs()
    held = {}

    def rebuild(colouring: str) -> np.ndarray:
        held[colouring] = Pyramid(data, colouring, finest, pick)
        return held[colouring].image(data.frames["whole"][0])

    measure(data, runs, repeats, frames, lambda c, frame: held[c].image(frame), rebuild)
    build_ms = {c: [timed(lambda c=c: Pyramid(data, c, finest, pick))[0] for _ in range(3)] for c in COLOURINGS}
    for c in COLOURINGS:
        p = held[c]
        levels = ", ".join(f"{lv[0].shape[1]}x{lv[0].shape[0]}" for lv in p.levels)
        finest_mib = sum(a.nbytes for a in p.levels[0]) / 2**20
        runs.info.append(
            f"pyramid, {c}: {len(p.levels[0])} planes, levels {levels} (cells across x by y); "
            f"{p.nbytes() / 2**20:.0f} MiB ({finest_mib:.0f} MiB the finest, "
            f"{', '.join(str(a.dtype) for a in p.levels[0])}); build {min(build_ms[c]):.0f}-"
            f"{max(build_ms[c]):.0f} ms, allocating {peak_mib(lambda c=c: Pyramid(data, c, finest, pick)):.0f} MiB at "
            f"its peak; a whole view allocates {peak_mib(lambda p=p: p.image(data.frames['whole'][0])):.0f} MiB"
        )
    p = held["binary"]
    for kind in ("whole", "zoom 4x", "zoom 16x", "pan"):
        frame = data.frames[kind][0]
        lv, px = p.level_for(frame)
        exact = data.exact_counts(frame).astype(np.float64)
        planes = p.counts(frame)
        est = sum(planes)
        either = (exact > 0) | (est >= 0.5)
        mae = float(np.abs(est - exact)[either].mean())
        flipped = float(((exact > 0) != (est >= 0.5)).mean())
        both = (exact > 0) & (est >= 0.5)
        exact_major = np.argmax([data.exact_counts(frame, k) for k in (1, 2)], 0)
        major = np.argmax(planes[1:], 0)
        wrong = float((major != exact_major)[both].mean()) if both.any() else 0.0
        serves = "serves it" if px <= math.sqrt(2) else "BEYOND THE FINEST LEVEL: cells wider than a pixel"
        runs.notes[kind] = (
            f"level {lv} ({p.levels[lv][0].shape[1]} cells across), cell {px:.2f} px: {serves}; per-pixel count "
            f"MAE {mae:.2f} (mean exact count {exact[exact > 0].mean():.1f}), {flipped:.1%} of pixels lit/unlit "
            f"wrongly, majority colour wrong in {wrong:.1%}"
        )
    return runs


# -- 3. datashader ------------------------------------------------------------------------------
def run_datashader(data: Data, repeats: int, frames: int) -> Runs:
    import datashader as ds
    import datashader.transfer_functions as tf
    import pandas as pd

    runs = Runs()
    runs.info.append(f"datashader {ds.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    df = pd.DataFrame({"x": data.x, "y": data.y})
    hexes = {c: [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in data.colourings[c][1]] for c in COLOURINGS}

    def recolour_df(colouring: str) -> None:
        key, colours, continuous = data.colourings[colouring]
        if continuous:  # the shown points' level; a search's left-out points would need a mask
            df["value"] = key.astype(np.float32)
        else:
            df["key"] = pd.Categorical.from_codes(key, categories=[str(k) for k in range(len(colours))])

    def canvas(frame: Frame):
        left, right, bottom, top = frame.extent()
        return ds.Canvas(plot_width=frame.width, plot_height=frame.height, x_range=(left, right), y_range=(bottom, top))

    def aggregate(colouring: str, frame: Frame):
        reduction = ds.mean("value") if data.colourings[colouring][2] else ds.count_cat("key")
        return canvas(frame).points(df, "x", "y", agg=reduction)

    def shade(colouring: str, agg):
        if data.colourings[colouring][2]:
            return tf.shade(agg, cmap=hexes[colouring][1:], how="linear", span=(1, len(hexes[colouring]) - 1))
        return tf.shade(agg, color_key=hexes[colouring], how="log", min_alpha=76)

    def draw(colouring: str, frame: Frame) -> np.ndarray:
        return shade(colouring, aggregate(colouring, frame)).data

    whole = data.frames["whole"][0]
    first = []
    for c in COLOURINGS:
        recolour_df(c)
        first.append(f"{c} {timed(lambda c=c: draw(c, whole))[0]:.0f} ms")
    runs.info.append(f"datashader: first call (numba compiles) {', '.join(first)}")
    measure(data, runs, repeats, frames, draw, lambda c: (recolour_df(c), draw(c, whole)))
    for kind in ("whole", "zoom 4x", "zoom 16x"):
        frame = data.frames[kind][0]
        counts = np.asarray(canvas(frame).points(df, "x", "y", agg=ds.count()).data)[::-1]  # rows up the map
        same = float((counts == data.exact_counts(frame)).mean())
        runs.notes[kind] = f"count check: {same:.3%} of pixels equal ours' exact counts"
    split = []
    for c in COLOURINGS:
        recolour_df(c)
        agg_ms = [timed(lambda c=c: aggregate(c, whole))[0] for _ in range(5)]
        agg = aggregate(c, whole)
        shade_ms = [timed(lambda c=c, agg=agg: shade(c, agg))[0] for _ in range(5)]
        split.append(f"{c} {np.median(agg_ms):.0f} + {np.median(shade_ms):.0f} ms")
    runs.info.append(f"datashader: a whole view, aggregate + shade (medians of 5): {', '.join(split)}")
    frame_mib = peak_mib(lambda: draw("binary", whole))
    runs.info.append(
        f"datashader: the DataFrame holds {df.memory_usage(deep=True).sum() / 2**20:.1f} MiB (x, y, key, value); "
        f"a whole binary view allocates {frame_mib:.0f} MiB (its per-key aggregate and image)"
    )
    return runs


# -- 4. OpenGL points ---------------------------------------------------------------------------
def run_opengl(data: Data, repeats: int, frames: int, size: float) -> Runs:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    import pyqtgraph as pg
    import pyqtgraph.opengl as gl
    from OpenGL import GL
    from PySide6 import QtGui

    class OrthoMap(gl.GLViewWidget):
        """A GLViewWidget whose camera looks straight down on the map: an orthographic
        projection of the frame's rectangle, no view rotation."""

        frame: Frame | None = None

        def projectionMatrix(self, region, viewport):  # pyqtgraph's names
            f, (vx, vy, _, _) = self.frame, viewport
            left, _, bottom, _ = f.extent()
            lx, by = left + (region[0] - vx) / f.s, bottom + (region[1] - vy) / f.s
            m = QtGui.QMatrix4x4()
            m.ortho(lx, lx + region[2] / f.s, by, by + region[3] / f.s, -1.0, 1.0)
            return m

        def viewMatrix(self):
            return QtGui.QMatrix4x4()

    app = pg.mkQApp()
    widget = OrthoMap()
    widget.frame = data.frames["whole"][0]
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    app.processEvents()
    pos = np.zeros((len(data.x), 3), np.float32)
    pos[:, 0], pos[:, 1] = data.x, data.y

    def rgba(colouring: str) -> np.ndarray:
        key, colours, _ = data.colourings[colouring]
        out = np.empty((len(key), 4), np.float32)
        out[:, :3] = (colours.astype(np.float32) / 255)[key]
        out[:, 3] = GL_ALPHA
        return out

    item = gl.GLScatterPlotItem(pos=pos, color=rgba("binary"), size=size, pxMode=True, glOptions="additive")
    widget.addItem(item)

    def draw(colouring: str, frame: Frame):
        widget.frame = frame
        return widget.grabFramebuffer()

    def recolour(colouring: str):
        item.setData(color=rgba(colouring))
        return draw(colouring, data.frames["whole"][0])

    runs = Runs()
    first_ms, image = timed(lambda: draw("binary", data.frames["whole"][0]))
    widget.makeCurrent()
    renderer, version = (GL.glGetString(x).decode() for x in (GL.GL_RENDERER, GL.GL_VERSION))
    widget.doneCurrent()
    runs.info.append(
        f"opengl: GL_RENDERER {renderer}, GL_VERSION {version}, Qt platform {app.platformName()}, "
        f"image {image.width()}x{image.height()}, points {size:g} px, additive blending, alpha {GL_ALPHA}"
    )
    runs.info.append(
        f"opengl: first frame (shaders compiled, {mib(pos, item.color):.0f} MiB of vertex buffers uploaded) "
        f"{first_ms:.0f} ms; the item keeps the same arrays in numpy too"
    )
    measure(data, runs, repeats, frames, draw, recolour)
    item.setVisible(False)
    empty_ms = [timed(lambda: draw("binary", data.frames["whole"][0]))[0] for _ in range(frames)]
    item.setVisible(True)
    runs.info.append(f"opengl: a frame without the points (clear, read-back, QImage) {np.median(empty_ms):.1f} ms")
    for kind in ("whole", "zoom 4x", "zoom 16x"):
        frame = data.frames[kind][0]
        shot = draw("binary", frame).convertToFormat(QtGui.QImage.Format.Format_RGB32)
        lit = np.frombuffer(shot.constBits(), np.uint32).reshape(HEIGHT, -1)[:, :WIDTH] & 0xFFFFFF != 0
        exact = data.exact_counts(frame) > 0
        runs.notes[kind] = f"lit pixels vs ours' occupied: {float((lit == exact).mean()):.3%} agree"
    widget.close()
    return runs


# -- running the ways and printing the table ----------------------------------------------------
def run_child(args) -> None:
    data = Data.load(args.data)
    try:
        if args.child == "ours":
            runs = run_ours(data, args.repeats, args.frames)
        elif args.child == "pyramid":
            runs = run_pyramid(data, args.repeats, args.frames, args.finest, args.pyramid_level)
        elif args.child == "datashader":
            runs = run_datashader(data, args.repeats, args.frames)
        else:
            runs = run_opengl(data, args.repeats, args.frames, args.gl_size)
        result = runs.as_json()
    except ImportError as e:
        result = {"skipped": f"{type(e).__name__}: {e} (Python {sys.executable})"}
    Path(args.out).write_text(json.dumps(result))


def spawn(way: str, args, data: Path, out: Path) -> dict:
    python = {"datashader": args.datashader_python, "opengl": args.gl_python}.get(way, sys.executable)
    cmd = [python, __file__, "--child", way, "--data", str(data), "--out", str(out)]
    cmd += ["--repeats", str(args.repeats), "--frames", str(args.frames), "--finest", str(args.finest)]
    cmd += ["--pyramid-level", args.pyramid_level]
    cmd += ["--gl-size", str(args.gl_size)]
    env = dict(os.environ)
    if way == "opengl" and not env.get("DISPLAY"):
        if not shutil.which(XVFB[0]):
            return {"skipped": "no DISPLAY and no xvfb-run to make one"}
        cmd = [*XVFB, *cmd]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-6:]
        return {"skipped": f"exit {done.returncode}: " + " | ".join(tail)}
    return json.loads(out.read_text())


def spread(values: list) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:.1f}-{hi:.1f}"


def print_table(results: dict, shared: dict, args) -> None:
    head = f"{'points':>9}  {'way':<10} {'view':<9}" + "".join(
        f" {c + ' ' + q:>15}" for c in ("binary", "contin.") for q in ("p50 ms", "p95 ms")
    )
    print(head + "  notes")
    print("-" * (len(head) + 7))
    for n, ways in results.items():
        for way, r in ways.items():
            if "skipped" in r:
                print(f"{n:>9,}  {way:<10} skipped: {r['skipped']}")
                continue
            for kind in KINDS:
                cells = ""
                for c in COLOURINGS:
                    runs = r["times"][f"{c}|{kind}"]
                    cells += f" {spread([p[0] for p in runs]):>15} {spread([p[1] for p in runs]):>15}"
                print(f"{n:>9,}  {way:<10} {kind:<9}{cells}  {r['notes'].get(kind, '')}")
        print()
    print(f"{args.repeats} runs per way (ranges: min-max over the runs); still views {args.frames} frames a run,")
    print(f"the pan {PAN_STEPS} views of {PAN_PIXELS} px steps; a recolour: the new colouring's key -> the whole view.")
    print(f"{os.cpu_count()} CPUs; load average (1 min) before/after each run:")
    for n, ways in results.items():
        for way, r in ways.items():
            if "loads" in r:
                print(f"  {n:>9,} {way:<10} " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in r["loads"]))
    for n, ways in results.items():
        costs = shared[n]["colour_by + flat_points ms"]
        print(
            f"\n{n:,} points; colour_by + flat_points (the key, shared by every way): "
            + ", ".join(f"{c} {ms:.0f} ms" for c, ms in costs.items())
        )
        for r in ways.values():
            for line in r.get("info", []):
                print(f"  {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, nargs="+", default=[1_000_000, 100_000])
    ap.add_argument("--repeats", type=int, default=3, help="runs of every view per way (>= 3 to see the spread)")
    ap.add_argument("--frames", type=int, default=10, help="frames of each still view, and recolours, per run")
    ap.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    ap.add_argument("--finest", type=int, default=4096, help="the pyramid's cells across the data's longer side")
    ap.add_argument(
        "--pyramid-level",
        choices=("closest", "finer"),
        default="closest",
        help="the level a view takes: cells closest to a pixel, or the coarsest no wider than one",
    )
    ap.add_argument("--datashader-python", default=sys.executable, help="a Python that can import datashader")
    ap.add_argument("--gl-python", default=sys.executable, help="a Python with PySide6, pyqtgraph and PyOpenGL")
    ap.add_argument("--gl-size", type=float, default=1.0, help="GL point size in pixels")
    ap.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args)
        return
    results, shared = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.points:
            data = Path(tmp) / f"points{n}.npz"
            shared[n] = write_data(n, data)
            results[n] = {}
            for way in args.ways:
                print(f"{n:,} points, {way}: load {os.getloadavg()[0]:.2f} ...", file=sys.stderr, flush=True)
                results[n][way] = spawn(way, args, data, Path(tmp) / f"{way}{n}.json")
    print_table(results, shared, args)


if __name__ == "__main__":
    main()
