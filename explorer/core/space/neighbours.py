"""Nearest data points, on the map (2D, under the cursor) and in the latent space.

The map distorts distances, so "similar points" are looked up in the latent space itself.
scipy's cKDTree answers either in well under a millisecond for 100,000 points.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

BLOCK = 65_536  # rows converted per numpy call: a short call each, so other threads get the GIL


def as_float64(points: np.ndarray) -> np.ndarray:
    """`points` as a C-ordered float64 array, converted a block at a time (a memory map of a
    million float32 latents is read and widened in one long call otherwise)."""
    points = np.asarray(points)
    if points.dtype == np.float64 and points.flags.c_contiguous:
        return points
    out = np.empty(points.shape, np.float64)
    for i in range(0, len(points), BLOCK):
        out[i : i + BLOCK] = points[i : i + BLOCK]
    return out


class PointIndex:
    def __init__(self, points: np.ndarray):
        self._tree = cKDTree(as_float64(points))
        self.size = len(points)

    def nearest(self, point: np.ndarray) -> tuple[int, float]:
        """Index of the nearest point, and its distance."""
        dist, idx = self._tree.query(np.asarray(point, np.float64), k=1)
        return int(idx), float(dist)

    def k_nearest(self, point: np.ndarray, k: int, exclude: int | None = None) -> np.ndarray:
        """Indices of the k nearest points, nearest first, leaving out `exclude`."""
        extra = 1 if exclude is not None else 0
        _, idx = self._tree.query(np.asarray(point, np.float64), k=min(k + extra, self.size))
        idx = np.atleast_1d(idx)
        return idx[idx != exclude][:k] if exclude is not None else idx[:k]

    def query(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(M, k) distances and indices of the k nearest indexed points of each of (M, D) points."""
        k = min(k, self.size)
        dist, idx = self._tree.query(np.atleast_2d(np.asarray(points, np.float64)), k=k)
        return np.asarray(dist, np.float64).reshape(-1, k), np.asarray(idx, int).reshape(-1, k)

    def distances(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of (M, D) points: the distance to its nearest indexed point, and its index."""
        dist, idx = self._tree.query(np.atleast_2d(np.asarray(points, np.float64)), k=1)
        return np.asarray(dist, np.float64), np.asarray(idx, int)

    def spacing(self, sample: int = 2000, seed: int = 0) -> np.ndarray:
        """Each of up to `sample` indexed points' distance to its nearest other indexed point."""
        rng = np.random.default_rng(seed)
        data = self._tree.data
        pick = rng.choice(len(data), min(sample, len(data)), replace=False) if len(data) > 1 else np.zeros(0, int)
        if len(pick) == 0:
            return np.zeros(0)
        # in small batches: a query holds the GIL, and the window's thread must get it in between
        return np.concatenate([self._tree.query(data[part], k=2)[0][:, 1] for part in np.array_split(pick, 20)])
