"""The map's points drawn into an image with numpy, off the GUI thread: how the map shows a
million points without a paint that stalls the window (the GUI thread only blits).

A view with many points in it becomes a density image: each pixel's count of points sets its
brightness (log scale), and its colour is the majority colour group of the points in it, or
for a continuous colouring the colour of their mean value. With few points in view, each point
is drawn as a disc of its colour, later groups on top, as the map draws small datasets. The
same pixel holds a point in both, so zooming in turns the density into
its points. Counting is a few bincounts over the points in view: O(N) and about 20 ms at a
million points, no pyramid or per-point Python object (benchmarks/density_ways.py compares
the ways this could be done).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.maps.point_groups import FlatPoints

POINTS_BELOW = 50_000  # points in view; more are drawn as a density image
DIRECT_TABLE = 4_000_000  # pixels x keys counted in one table (32 MB); more: occupied pixels only
FAINTEST = 0.3
FAR = (
    2.0**30
)  # pixels: beyond any image, within int32  # the brightness of a pixel with one point when the busiest pixel has many


@dataclass(frozen=True)
class View:
    """Where map coordinates land in device pixels: x' = m11 x + m21 y + dx, y' = m12 x + m22 y + dy."""

    m11: float
    m12: float
    m21: float
    m22: float
    dx: float
    dy: float
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class ViewImage:
    pixels: np.ndarray  # (height, width, 4) uint8 BGRA, premultiplied: Qt's ARGB32_Premultiplied in memory
    in_view: int  # points whose pixel is in the image
    density: bool  # drawn as a density image (else as points)


def disc_offsets(diameter: float) -> np.ndarray:
    """Pixel offsets (k, 2) covered by a disc of `diameter` pixels centred on a pixel."""
    r = max(diameter / 2, 0.5)
    span = np.arange(-int(np.ceil(r)), int(np.ceil(r)) + 1)
    dy, dx = np.meshgrid(span, span, indexing="ij")
    inside = dx**2 + dy**2 <= r * r + 0.25
    return np.stack([dx[inside], dy[inside]], 1)


def pixels_of(points: FlatPoints, view: View) -> tuple[np.ndarray, np.ndarray]:
    """The pixel each point falls in (pixel i covers [i, i + 1), as Qt's do), as int32 columns;
    far outside the image when the point is (clipped there, so a deep zoom cannot overflow)."""
    x, y = points.x, points.y
    f = np.float32
    px = x * f(view.m11) + f(view.dx)
    py = y * f(view.m22) + f(view.dy)
    if view.m21 or view.m12:  # pyqtgraph's views do not rotate, but a transform may
        px += y * f(view.m21)
        py += x * f(view.m12)
    for p in (px, py):
        np.floor(p, out=p)
        np.clip(p, -FAR, FAR, out=p)
    return px.astype(np.int32), py.astype(np.int32)


def render(points: FlatPoints, view: View, diameter: float, points_below: int = POINTS_BELOW) -> ViewImage:
    """The view's image of `points`: as points when at most `points_below` are in it, else as
    a density image."""
    h, w = view.height, view.width
    ix, iy = pixels_of(points, view)
    inside = (ix >= 0) & (iy >= 0) & (ix < w) & (iy < h)
    in_view = int(np.count_nonzero(inside))
    if in_view <= points_below:  # with the points just outside, whose discs reach in
        r = int(np.ceil(max(diameter / 2, 0.5)))
        idx = np.flatnonzero((ix >= -r) & (iy >= -r) & (ix < w + r) & (iy < h + r))
        return ViewImage(_discs(ix[idx], iy[idx], points.key[idx], points.colours, w, h, diameter), in_view, False)
    cell = iy
    cell *= w
    cell += ix  # int32: a pixel's index in the image
    if in_view < len(points):  # (zoomed out, every point is in view: no copies)
        cell, key = cell[inside], points.key[inside]
    else:
        key = points.key
    return ViewImage(_density(cell, key, points, w, h), in_view, density=True)


def _packed(rgb: np.ndarray, alpha: np.ndarray | float = 1.0) -> np.ndarray:
    """(n, 3) RGB and alpha in [0, 1] -> premultiplied ARGB32 values."""
    a = np.broadcast_to(np.asarray(alpha, np.float32), len(rgb))
    r, g, b = (np.rint(rgb[:, c] * a).astype(np.uint32) for c in range(3))
    return (np.rint(a * 255).astype(np.uint32) << 24) | (r << 16) | (g << 8) | b


def _discs(ix, iy, key, colours, w: int, h: int, diameter: float) -> np.ndarray:
    image = np.zeros((h, w), np.uint32)
    values = _packed(colours.astype(np.float32))
    offsets = disc_offsets(diameter)
    for k in np.flatnonzero(
        np.bincount(key, minlength=len(colours))
    ):  # the searched-out underneath, then group by group
        gx, gy = ix[key == k], iy[key == k]
        for ox, oy in offsets:
            qx, qy = gx + ox, gy + oy
            ok = (qx >= 0) & (qy >= 0) & (qx < w) & (qy < h)
            image[qy[ok], qx[ok]] = values[k]
    return image.view(np.uint8).reshape(h, w, 4)


def _density(cell: np.ndarray, key: np.ndarray, points: FlatPoints, w: int, h: int) -> np.ndarray:
    colours = points.colours.astype(np.float32)
    k = len(colours)
    if not points.continuous and w * h * k <= DIRECT_TABLE:  # a count per pixel and key, in one pass
        table = cell.astype(np.intp)
        table *= k
        table += key
        per_key = np.bincount(table, minlength=w * h * k).reshape(w * h, k)
        total = per_key[:, 0].copy()
        for j in range(1, k):
            total += per_key[:, j]
        occupied = np.flatnonzero(total)
        per_key = per_key[occupied]
    else:  # the same, for the occupied pixels only (a row each), so the table stays small
        total = np.bincount(cell, minlength=w * h)
        occupied = np.flatnonzero(total)
        rank = np.empty(w * h, np.int32)
        rank[occupied] = np.arange(len(occupied), dtype=np.int32)
        row = rank[cell]
        if points.continuous:  # the colour of the shown points' mean level, interpolated
            shown = key > 0
            n_shown = np.bincount(row[shown], minlength=len(occupied))
            level_sum = np.bincount(row[shown], weights=key[shown], minlength=len(occupied))
            level = level_sum / np.maximum(n_shown, 1) - 1  # 0 .. groups - 1
            # through a table of 16 steps between two levels' colours: np.interp per pixel is 10x slower
            steps = np.linspace(0, k - 2, 16 * (k - 2) + 1)
            table = np.stack([np.interp(steps, np.arange(k - 1), colours[1:, c]) for c in range(3)], 1)
            rgb = table[np.rint(level * 16).astype(np.intp)].astype(np.float32)
        else:
            row *= k
            row += key
            per_key = np.bincount(row, minlength=len(occupied) * k).reshape(-1, k)
    counts = total[occupied]  # each at least 1
    if not points.continuous:  # the majority colour of the shown points
        n_shown = counts - per_key[:, 0]
        rgb = colours[1 + per_key[:, 1:].argmax(1)] if k > 1 else np.zeros((len(occupied), 3), np.float32)
    rgb[n_shown == 0] = colours[0]  # only points a search leaves out: grey
    alpha = FAINTEST + (1 - FAINTEST) * np.log1p(counts) / np.log1p(counts.max(initial=1))  # the busiest: 1
    image = np.zeros(w * h, np.uint32)
    image[occupied] = _packed(rgb, alpha)
    return image.view(np.uint8).reshape(h, w, 4)
