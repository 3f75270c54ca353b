"""Place a few text labels next to their points without overlapping (pure geometry, pixels).

The attribute vectors all start at the pinned point, and vectors that barely show on the map
end within a few pixels of it: their names, drawn at the tips, piled into a smear. Each label
instead takes the first spot, outward from the pin first, that overlaps no label placed before
it, nothing to keep clear (the pin itself) and stays inside the view.
"""

from __future__ import annotations

import numpy as np

GAP = 3.0  # pixels between a point and its label
ANGLES = np.radians([0, 30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180])  # about the outward direction
DISTANCES = (0.0, 12.0, 24.0, 40.0, 60.0)  # further out, when every angle is taken


def _box_at(anchor: np.ndarray, size: np.ndarray, direction: np.ndarray, distance: float) -> np.ndarray:
    """The box (x0, y0, x1, y1) of a label of `size` whose nearest edge is `distance` + GAP away
    from `anchor` in `direction` (a unit vector)."""
    half = size / 2
    reach = abs(direction[0]) * half[0] + abs(direction[1]) * half[1]  # centre to edge along direction
    centre = anchor + direction * (GAP + distance + reach)
    return np.concatenate([centre - half, centre + half])


def _overlap(box: np.ndarray, others: list[np.ndarray], bounds: np.ndarray | None) -> float:
    """The area of `box` on other boxes, plus its area outside `bounds` (hidden there)."""
    area = 0.0
    if others:
        o = np.asarray(others)
        w = np.minimum(box[2], o[:, 2]) - np.maximum(box[0], o[:, 0])
        h = np.minimum(box[3], o[:, 3]) - np.maximum(box[1], o[:, 1])
        area += float((np.clip(w, 0, None) * np.clip(h, 0, None)).sum())
    if bounds is not None:
        inside_w = max(min(box[2], bounds[2]) - max(box[0], bounds[0]), 0)
        inside_h = max(min(box[3], bounds[3]) - max(box[1], bounds[1]), 0)
        area += (box[2] - box[0]) * (box[3] - box[1]) - inside_w * inside_h
    return area


def place_labels(
    anchors: np.ndarray, sizes: np.ndarray, origin: np.ndarray, keep_clear: list[np.ndarray] = (), bounds=None
) -> np.ndarray:
    """Top-left corners (n, 2) for labels of `sizes` (n, 2) at `anchors` (n, 2), pushed away
    from `origin` (2,). Labels are placed in the given order; the first free spot wins, and
    when none is free, the one that overlaps least. Boxes (x0, y0, x1, y1) in `keep_clear` are
    avoided too, and labels stay inside `bounds` (a box) where they can."""
    bounds = None if bounds is None else np.asarray(bounds, np.float64)
    anchors, sizes, origin = (np.asarray(a, np.float64) for a in (anchors, sizes, origin))
    taken = [np.asarray(b, np.float64) for b in keep_clear]
    corners = np.zeros((len(anchors), 2))
    for i, (anchor, size) in enumerate(zip(anchors, sizes)):
        out = anchor - origin
        outward = np.arctan2(out[1], out[0]) if np.hypot(*out) > 1 else 0.0  # at the pin: to the right
        best, best_overlap = None, np.inf
        for distance in DISTANCES:
            for angle in outward + ANGLES:
                box = _box_at(anchor, size, np.array([np.cos(angle), np.sin(angle)]), distance)
                overlap = _overlap(box, taken, bounds)
                if overlap < best_overlap:
                    best, best_overlap = box, overlap
                if overlap == 0:
                    break
            if best_overlap == 0:
                break
        taken.append(best)
        corners[i] = best[:2]
    return corners
