"""Maps from the latent space to the 2D map and back.

Every projection here is linear with orthonormal axes: map = (z - offset) @ axes, axes (D, 2).
That gives an exact inverse for any map point once the part of z the map does not show is
chosen. `inverse(p, fill)` keeps fill's component orthogonal to the axes and sets the shown
coordinates to p. With fill = the nearest data point's mu, hidden components come from the
data. With fill = offset (the data mean, for PCA), they are the mean's. Either way
transform(inverse(p, fill)) == p.

PCA axes are the top principal directions of mu; raw-dims axes are two unit vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from explorer.core.space.covariance import principal_axes


class Projection(Protocol):
    """What the map needs of any latent -> 2D map: linear ones here, UMAP or t-SNE later.

    `inverse(points, fill)` gives latents at map points (2,) or (N, 2), taking the part the map
    does not show from `fill` (D,) or (N, D) (the nearest data point's mu, or `offset`); a
    non-linear map interpolates its neighbours' latents instead. `project_covariance` is None
    where a map cannot show a latent covariance as an ellipse.
    """

    name: str
    axis_labels: tuple[str, str]
    offset: np.ndarray  # (D,): the latent the map centres on; the "mean" fill

    def transform(self, z: np.ndarray) -> np.ndarray: ...

    def inverse(self, points: np.ndarray, fill: np.ndarray) -> np.ndarray: ...

    def project_covariance(self, variances: np.ndarray) -> np.ndarray | None: ...


@dataclass(frozen=True)
class LinearProjection:
    name: str  # e.g. "PCA" or "z3 / z7"
    offset: np.ndarray  # (D,)
    axes: np.ndarray  # (D, 2), orthonormal columns
    axis_labels: tuple[str, str]
    explained: tuple[float, float] | None = None  # PCA: fraction of variance along each axis

    def transform(self, z: np.ndarray) -> np.ndarray:
        """(N, D) or (D,) latents -> (N, 2) or (2,) map coordinates (float64)."""
        return (np.asarray(z, np.float64) - self.offset) @ self.axes

    def inverse(self, points: np.ndarray, fill: np.ndarray) -> np.ndarray:
        """Latents at map points (2,) or (N, 2) whose hidden part comes from fill (D,) or (N, D)."""
        fill = np.asarray(fill, np.float64)
        return fill + (np.asarray(points, np.float64) - self.transform(fill)) @ self.axes.T

    def project_covariance(self, variances: np.ndarray) -> np.ndarray:
        """A diagonal latent covariance diag(variances) (D,) seen on the map: (2, 2)."""
        return self.axes.T @ (np.asarray(variances, np.float64)[:, None] * self.axes)


def pca(mu: np.ndarray) -> LinearProjection:
    """The top two principal directions of mu (space/covariance.py: from its covariance)."""
    d = mu.shape[1]
    mean, var, vecs = principal_axes(mu)
    explained = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    axes = vecs[:, :2] if d >= 2 else np.eye(d, 2)
    return LinearProjection("PCA", mean, axes, ("PC 1", "PC 2"), (float(explained[0]), float(explained[1])))


def raw_dims(latent_dim: int, i: int, j: int) -> LinearProjection:
    if not (0 <= i < latent_dim and 0 <= j < latent_dim) or i == j:
        raise ValueError(f"raw dimensions must be two different ones in 0..{latent_dim - 1}, got {i} and {j}")
    axes = np.zeros((latent_dim, 2))
    axes[i, 0] = axes[j, 1] = 1.0
    return LinearProjection(f"z{i} / z{j}", np.zeros(latent_dim), axes, (f"z{i}", f"z{j}"))


def ellipse_points(centre: np.ndarray, cov: np.ndarray, n: int = 64) -> np.ndarray:
    """(n + 1, 2) points on the 1-sigma ellipse of a 2D Gaussian (closed polygon)."""
    vals, vecs = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, n + 1)
    circle = np.stack([np.cos(t), np.sin(t)], 1)
    return np.asarray(centre) + (circle * np.sqrt(np.maximum(vals, 0))) @ vecs.T


def along_vector(mu: np.ndarray, direction: np.ndarray, name: str) -> LinearProjection:
    """x = <mu, u> (u the unit vector), y = the first principal direction of mu with u removed:
    how the data spreads along an attribute (as Latent Space Cartography shows it)."""
    mu = np.asarray(mu, np.float64)
    u = np.asarray(direction, np.float64) / np.linalg.norm(direction)
    mean = mu.mean(0)
    rest = (mu - mean) - np.outer((mu - mean) @ u, u)
    _, _, vt = np.linalg.svd(rest, full_matrices=False)
    w = vt[0] - (vt[0] @ u) * u
    w /= np.linalg.norm(w)
    # offset chosen so that x is exactly <mu, u> while y is centred on the data
    offset = mean - (mean @ u) * u
    return LinearProjection(f"along {name}", offset, np.stack([u, w], 1), (f"<mu, {name}>", f"PC 1 without {name}"))
