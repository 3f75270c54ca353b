"""Non-linear maps of the latent space (UMAP, t-SNE) with a fast inverse (issue 13).

A non-linear map places each data point's mu on the plane; it has no formula for a latent
between the data, nor for the way back. Both ways are interpolated from the data themselves,
with inverse-distance weights over the k nearest points:

  transform(z)      map point of latent z: from the map positions of z's nearest data latents
  inverse(p)        latent at map point p: from the latents of p's nearest map points

Both are exact where they start at a data point (distance 0: that point alone), and cost one
KD-tree query each: well under a millisecond a point at a million points. Away from the data
the inverse is a guess; `remoteness(p)` says how far p is from the nearest data point, in
units of the typical spacing of the map's points, so the window can say so.

Fitting the map, a step at a time with progress, cancel and the cache, is fits.py's.

UMAP (umap-learn) and t-SNE (openTSNE) are optional extras: `pip install "vae-explorer[umap,tsne]"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.core.space.neighbours import PointIndex
from explorer_models.errors import UserInputError

NEIGHBOURS = 8  # points an interpolation weighs
METHODS = {"umap": "UMAP", "tsne": "t-SNE"}
PACKAGES = {"umap": "umap", "tsne": "openTSNE"}
MISSING = {
    "umap": 'the UMAP map needs umap-learn: pip install "vae-explorer[umap]"',
    "tsne": 'the t-SNE map needs openTSNE: pip install "vae-explorer[tsne]"',
}


def available() -> list[str]:
    """The non-linear maps whose package is installed (found, not imported: that is slow)."""
    import importlib.util

    return [m for m, package in PACKAGES.items() if importlib.util.find_spec(package) is not None]


class MissingExtra(UserInputError):
    """The optional package a map needs is not installed; the message says which command installs it."""


@dataclass(frozen=True)
class EmbeddedProjection:
    """A map given by every data point's position (coords), interpolated in between."""

    name: str
    mu: np.ndarray  # (N, D) the data's latents
    coords: np.ndarray  # (N, 2) their map positions
    axis_labels: tuple[str, str] = ("", "")
    latents: PointIndex = field(init=False, repr=False)
    positions: PointIndex = field(init=False, repr=False)
    spacing: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latents", PointIndex(self.mu))
        object.__setattr__(self, "positions", PointIndex(self.coords))
        sample = self.coords[:: max(1, len(self.coords) // 2000)]
        dist, _ = self.positions.query(sample, k=2)
        object.__setattr__(self, "spacing", float(np.median(dist[:, 1])) or 1.0)

    @property
    def offset(self) -> np.ndarray:
        return np.asarray(self.mu, np.float64).mean(0)

    def transform(self, z: np.ndarray) -> np.ndarray:
        """Map points of latents (D,) or (N, D): exact for a data point's own mu."""
        if z is self.mu:  # the map of its own data (build_map): their positions, without a search
            return self.coords.copy()
        return _weighted(self.latents, np.asarray(z, np.float64), self.coords)

    def inverse(self, points: np.ndarray, fill: np.ndarray | None = None) -> np.ndarray:
        """Latents at map points (2,) or (N, 2), from their nearest map points' latents (a
        non-linear map has no hidden part to take from `fill`)."""
        return _weighted(self.positions, np.asarray(points, np.float64), self.mu)

    def remoteness(self, points: np.ndarray) -> np.ndarray:
        """Distance from the nearest data point, in units of the map's typical point spacing:
        about 1 or less among the data; far above 1 the inverse is a guess."""
        dist, _ = self.positions.query(np.atleast_2d(np.asarray(points, np.float64)), k=1)
        out = dist[:, 0] / self.spacing
        return out[0] if np.ndim(points) == 1 else out

    def project_covariance(self, variances: np.ndarray) -> None:
        return None  # no ellipse shows a latent covariance on a non-linear map


def _weighted(index: PointIndex, queries: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Inverse-distance-weighted mean of `values` at the NEIGHBOURS points of `index` nearest
    each query; a query on a point takes that point's value alone."""
    single = queries.ndim == 1
    q = np.atleast_2d(queries)
    dist, idx = index.query(q, k=NEIGHBOURS)
    on_point = dist[:, 0] == 0
    weights = 1.0 / np.maximum(dist * dist, np.finfo(np.float64).tiny)
    weights[on_point] = 0
    weights[on_point, 0] = 1
    weights /= weights.sum(1, keepdims=True)
    out = np.einsum("nk,nkd->nd", weights, np.asarray(values[idx], np.float64))  # only the rows used
    return out[0] if single else out
