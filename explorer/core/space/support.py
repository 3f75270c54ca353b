"""Data support: how far a latent is from the encoded data, so a path shows where it leaves it.

A decoder is only trained where the data is; far from every encoded point its pictures are
guesses. The distance of a latent to its nearest data point (mu) is compared with how far
data points themselves are from their nearest neighbour: a step farther away than 95% of
data points are from theirs is "off the data".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.space.neighbours import PointIndex

REFERENCE_PERCENTILE = 95
OFF_DATA_MEANING = f"farther from any data point than {REFERENCE_PERCENTILE}% of data points are from theirs"


@dataclass(frozen=True)
class Support:
    distance: np.ndarray  # (N,) to the nearest data point
    nearest: np.ndarray  # (N,) its index
    reference: float  # the data's own nearest-neighbour distance, 95th percentile

    @property
    def level(self) -> np.ndarray:
        """distance / reference: above 1 means off the data."""
        return self.distance / self.reference if self.reference > 0 else np.where(self.distance > 0, np.inf, 0.0)

    @property
    def off_data(self) -> np.ndarray:
        return self.level > 1

    def describe(self, short: bool = False) -> str:
        """What lies off the data, in a sentence (`short`: without saying what "off" means)."""
        off = np.flatnonzero(self.off_data)
        if len(off) == 0:
            return "every step lies within the data"
        meaning = "" if short else f" ({OFF_DATA_MEANING})"
        return f"{len(off)} of {len(self.distance)} steps are off the data{meaning}: {_ranges(off + 1)}"


def _ranges(steps: np.ndarray) -> str:
    """1-based step numbers as runs: [2, 3, 4, 7] -> 'steps 2-4, 7'."""
    runs, start = [], steps[0]
    for prev, cur in zip(steps, [*steps[1:], None]):
        if cur != prev + 1:
            runs.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = cur
    return ("step " if len(steps) == 1 else "steps ") + ", ".join(runs)


class SupportMeter:
    """Measures the support of latents against one set of encodings (built once per dataset)."""

    def __init__(self, mu: np.ndarray, index: PointIndex | None = None):
        self.index = index if index is not None else PointIndex(mu)
        spacing = self.index.spacing()
        self.reference = float(np.percentile(spacing, REFERENCE_PERCENTILE)) if len(spacing) else 0.0

    def __call__(self, latents: np.ndarray) -> Support:
        distance, nearest = self.index.distances(latents)
        return Support(distance, nearest, self.reference)
