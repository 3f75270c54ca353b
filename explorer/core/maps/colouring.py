"""Colour points by a label, the reconstruction error or the KL term; Qt-free.

Points are split into colour groups, so the map can draw each group with one shared brush
(per-point brushes make colouring slow). Few distinct values (a binary label, a class)
give categorical groups with a palette and a legend. Many values give a continuous colour
map, quantised into CONTINUOUS_LEVELS groups, with a colour bar over their range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CATEGORIES = 12
NO_VALUE = (130, 130, 130)  # points whose value is missing
CONTINUOUS_LEVELS = 32
# A categorical palette with distinct hues that stay readable on a dark background.
PALETTE = (
    (78, 154, 230),
    (242, 142, 43),
    (89, 181, 106),
    (225, 87, 89),
    (176, 122, 211),
    (237, 201, 72),
    (118, 183, 178),
    (255, 157, 167),
    (156, 117, 95),
    (190, 190, 190),
    (128, 220, 60),
    (70, 90, 220),
)
# Viridis, sampled at 9 stops and interpolated: perceptually even, readable by most
# colour-blind users.
_VIRIDIS = np.array(
    [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ],
    np.float64,
)


@dataclass(frozen=True)
class Colouring:
    title: str  # what the colours mean, e.g. "smiling" or "reconstruction error"
    groups: np.ndarray  # (N,) int, the colour group of each point
    colours: tuple[tuple[int, int, int], ...]  # RGB per group
    names: tuple[str, ...]  # legend text per group
    continuous: bool
    value_range: tuple[float, float] | None = None  # continuous: the values at the colour map's ends
    missing: bool = False  # the last group holds the points without a value (NaN: an empty CSV cell)


def viridis(t: np.ndarray) -> np.ndarray:
    """t in [0, 1] -> (len(t), 3) RGB in 0..255."""
    x = np.clip(np.asarray(t, np.float64), 0, 1) * (len(_VIRIDIS) - 1)
    return np.stack([np.interp(x, np.arange(len(_VIRIDIS)), _VIRIDIS[:, c]) for c in range(3)], 1)


def _format(v: float) -> str:
    return f"{v:g}" if float(v).is_integer() else f"{v:.3g}"


def _few_values(finite: np.ndarray) -> np.ndarray | None:
    """The distinct values, when there are at most MAX_CATEGORIES; else None. Sorting a
    million values to count them takes ~60 ms, so a sample's values are tried first: a sample
    with many rules them out, and a label's few are confirmed with a search per value."""
    sample = np.unique(finite[:: max(1, len(finite) // 4096)])
    if len(sample) > MAX_CATEGORIES:
        return None
    if len(sample):
        at = np.searchsorted(sample, finite).clip(0, len(sample) - 1)
        if np.array_equal(sample[at], finite):
            return sample
    uniques = np.unique(finite)  # values the sample missed
    return uniques if len(uniques) <= MAX_CATEGORIES else None


def colour_by(values: np.ndarray, title: str) -> Colouring:
    """Categories (at most MAX_CATEGORIES values) or CONTINUOUS_LEVELS levels; points without a
    value (NaN) get a grey group of their own, last."""
    values = np.asarray(values, np.float64)
    known = np.isfinite(values)
    finite = values[known]
    missing = not known.all()
    uniques = _few_values(finite)
    if uniques is not None:
        groups = np.searchsorted(uniques, values).clip(0, max(len(uniques) - 1, 0))
        colours = tuple(PALETTE[i % len(PALETTE)] for i in range(len(uniques)))
        names = tuple(f"{title} = {_format(u)}" for u in uniques)
        continuous, value_range = False, None
    else:
        lo, hi = (float(q) for q in np.percentile(finite, [1, 99]))  # robust to outliers
        span = hi - lo if hi > lo else 1.0
        groups = np.clip(
            ((np.where(known, values, lo) - lo) / span * CONTINUOUS_LEVELS).astype(np.int64), 0, CONTINUOUS_LEVELS - 1
        )
        rgb = viridis((np.arange(CONTINUOUS_LEVELS) + 0.5) / CONTINUOUS_LEVELS).round().astype(int)
        colours = tuple(tuple(int(c) for c in row) for row in rgb)
        names = tuple(f"{title} {_format(lo + span * k / CONTINUOUS_LEVELS)}.." for k in range(CONTINUOUS_LEVELS))
        continuous, value_range = True, (lo, hi)
    if missing:
        groups = np.where(known, groups, len(colours))
        colours, names = (*colours, NO_VALUE), (*names, f"{title}: no value")
    return Colouring(title, groups.astype(np.int32), colours, names, continuous, value_range, missing)


def uniform(n: int, title: str = "all points") -> Colouring:
    return Colouring(title, np.zeros(n, np.int32), (PALETTE[0],), (title,), continuous=False)
