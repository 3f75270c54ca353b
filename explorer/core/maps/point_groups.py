"""The map's points, ready to draw, made off the GUI thread (O(N)), so the map widget only
hands finished arrays to its point cloud: colour groups of positions for maps small enough
to paint point by point, flat columns for larger ones (drawn as an image, raster.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.maps.colouring import Colouring

DIMMED = (90, 90, 90)  # points a search leaves out


@dataclass(frozen=True)
class PointGroups:
    groups: tuple[tuple[np.ndarray, tuple[int, int, int]], ...]  # (positions (n, 2) float64, rgb), bottom first
    lo: np.ndarray | None  # (2,) corner of the points' bounding box; None when there are none
    hi: np.ndarray | None


@dataclass(frozen=True, eq=False)
class FlatPoints:
    """Every point as flat columns, in data order: no sort and no per-group copies, so a
    recolouring of a million points costs one pass."""

    x: np.ndarray  # (N,) float32 map positions
    y: np.ndarray
    key: np.ndarray  # (N,) uint8: its colour group + 1; 0 (grey) for a point a search leaves out or
    # without a value in a continuous colouring (it has no level to average)
    colours: np.ndarray  # (groups + 1, 3) uint8: DIMMED, then each group's colour
    continuous: bool  # the groups are levels of one value (the density view shows their mean)
    counts: tuple[int, ...]  # points per key
    lo: np.ndarray | None
    hi: np.ndarray | None

    def __len__(self) -> int:
        return len(self.key)


def point_groups(coords: np.ndarray, colouring: Colouring, shown: np.ndarray | None = None) -> PointGroups:
    """Greyed-out points first (underneath), then one group per colour."""
    coords = np.asarray(coords, np.float64)
    shown = np.ones(len(coords), bool) if shown is None else shown
    order = np.argsort(colouring.groups, kind="stable")
    bounds = np.searchsorted(colouring.groups[order], np.arange(len(colouring.colours) + 1))
    groups = [(coords[~shown], DIMMED)]
    for g, rgb in enumerate(colouring.colours):
        idx = order[bounds[g] : bounds[g + 1]]
        groups.append((coords[idx[shown[idx]]], tuple(rgb)))
    lo, hi = (coords.min(0), coords.max(0)) if len(coords) else (None, None)
    return PointGroups(tuple(groups), lo, hi)


def flat_points(coords: np.ndarray, colouring: Colouring, shown: np.ndarray | None = None) -> FlatPoints:
    """The same points and colours as point_groups, as FlatPoints."""
    coords = np.asarray(coords)
    if len(colouring.colours) > 254:
        raise ValueError(f"{len(colouring.colours)} colour groups; a uint8 key holds 254")
    key = np.asarray(colouring.groups).astype(np.uint8) + np.uint8(1)
    if colouring.continuous and colouring.missing:  # no value, no level: grey, outside the mean level
        key[key == len(colouring.colours)] = 0
    if shown is not None:
        key[~shown] = 0
    colours = np.array([DIMMED, *colouring.colours], np.uint8).reshape(-1, 3)
    counts = tuple(int(c) for c in np.bincount(key, minlength=len(colours)))
    x, y = coords[:, 0].astype(np.float32), coords[:, 1].astype(np.float32)
    # min(0) over (N, 2) rows is ~50 ms at a million points; over each contiguous column, < 1 ms
    lo, hi = (
        (np.array([x.min(), y.min()], np.float64), np.array([x.max(), y.max()], np.float64)) if len(x) else (None, None)
    )
    return FlatPoints(x, y, key, colours, colouring.continuous, counts, lo, hi)
