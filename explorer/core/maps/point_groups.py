"""The map's points as colour groups, ready to draw: made off the GUI thread (O(N)), so the
map widget only hands finished arrays to its point cloud."""

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
