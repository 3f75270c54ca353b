"""Points drawn into an image with numpy, off the GUI thread: how the map shows hundreds of
thousands of points without a paint that stalls the window (the GUI thread only blits).

Each point is a small disc stamped at its pixel; groups are drawn in order, later on top.
No antialiasing: at these densities the discs overlap anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def disc_offsets(diameter: float) -> np.ndarray:
    """Pixel offsets (k, 2) covered by a disc of `diameter` pixels centred on a pixel."""
    r = max(diameter / 2, 0.5)
    span = np.arange(-int(np.ceil(r)), int(np.ceil(r)) + 1)
    dy, dx = np.meshgrid(span, span, indexing="ij")
    inside = dx**2 + dy**2 <= r * r + 0.25
    return np.stack([dx[inside], dy[inside]], 1)


def rasterize(groups, view: View, diameter: float) -> np.ndarray:
    """(height, width, 4) uint8 BGRA (Qt's ARGB32 in memory on little-endian machines), transparent
    where no point is; `groups` as PointGroups.groups: [(positions (n, 2), rgb), ...]."""
    h, w = view.height, view.width
    image = np.zeros((h, w), np.uint32)
    offsets = disc_offsets(diameter)
    for pos, rgb in groups:
        if not len(pos):
            continue
        x = view.m11 * pos[:, 0] + view.m21 * pos[:, 1] + view.dx
        y = view.m12 * pos[:, 0] + view.m22 * pos[:, 1] + view.dy
        px, py = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
        near = (px > -8) & (py > -8) & (px < w + 8) & (py < h + 8)
        px, py = px[near], py[near]
        colour = np.uint32(0xFF000000 | (rgb[0] << 16) | (rgb[1] << 8) | rgb[2])
        for ox, oy in offsets:
            qx, qy = px + ox, py + oy
            ok = (qx >= 0) & (qy >= 0) & (qx < w) & (qy < h)
            image[qy[ok], qx[ok]] = colour
    return image.view(np.uint8).reshape(h, w, 4)
