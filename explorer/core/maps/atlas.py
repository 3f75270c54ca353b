"""The atlas: zoomed in to a few hundred points, the map draws each as its own image.

Qt-free: which points are in a view, and their images as thumbnails (RGBA, a fixed size),
made off the GUI thread; the map keeps the thumbnails it has made (atlas_item.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from explorer.core.data.base import DatasetLike

ATLAS_MOST = 300  # points in view drawn as thumbnails; more would hide each other and the map
THUMBNAIL = 48  # pixels a side


@dataclass(frozen=True, eq=False)
class AtlasView:
    indices: np.ndarray  # (k,) the points in view, at most ATLAS_MOST; empty when there are more
    thumbnails: dict[int, np.ndarray]  # index -> (THUMBNAIL, THUMBNAIL, 4) uint8 RGBA, for those not made before
    crowded: bool  # more points in view than ATLAS_MOST


def points_in(coords: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
    """Indices of the points in the map rectangle (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = rect
    x, y = coords[:, 0], coords[:, 1]
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def thumbnail(image: np.ndarray, size: int = THUMBNAIL) -> np.ndarray:
    """(H, W, C) uint8 image -> (size, size, 4) RGBA: scaled to fit, centred, clear around."""
    im = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).convert("RGBA")
    scale = size / max(im.size)
    shrinking = scale < 1
    im = im.resize(
        (max(1, round(im.width * scale)), max(1, round(im.height * scale))),
        Image.Resampling.LANCZOS if shrinking else Image.Resampling.BICUBIC,
    )
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(canvas)


def atlas_view(
    coords: np.ndarray,
    dataset: DatasetLike,
    rect: tuple[float, float, float, float],
    made: frozenset[int] | set[int] = frozenset(),
    most: int = ATLAS_MOST,
    size: int = THUMBNAIL,
) -> AtlasView:
    """The points in `rect` and the thumbnails of those not in `made` (O(N): off the GUI thread)."""
    indices = points_in(coords, rect)
    if len(indices) > most:
        return AtlasView(np.zeros(0, np.intp), {}, crowded=True)
    new = [int(i) for i in indices if int(i) not in made]
    images = dataset.images_at(np.array(new, np.intp)) if new else []
    return AtlasView(indices, {i: thumbnail(im, size) for i, im in zip(new, images)}, crowded=False)
