"""A map, built in one piece off the GUI thread: the projection, every point's position and a
KD-tree of the positions (the nearest point under the cursor). And what the encodings give once
per dataset: a KD-tree of mu (nearest points in the latent space) and the data-support meter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.maps import projection as proj
from explorer.core.maps.colouring import Colouring
from explorer.core.maps.fits import embedded
from explorer.core.maps.nonlinear import METHODS
from explorer.core.space.neighbours import PointIndex
from explorer.core.space.support import SupportMeter

PCA = ("pca",)  # how a map was made: ("pca",), ("raw", i, j), ("vector", index), ("umap",) or ("tsne",)


@dataclass(frozen=True)
class LatentSpace:
    index: PointIndex  # mu of every data point
    meter: SupportMeter
    kl_per_dim: np.ndarray  # (D,) mean KL of each dimension over the data: the active units


@dataclass(frozen=True)
class BuiltMap:
    projection: proj.Projection
    source: tuple
    coords: np.ndarray  # (N, 2)
    index: PointIndex  # of coords
    lo: np.ndarray  # (2,) the corners of the points' bounding box (the view frames it)
    hi: np.ndarray


def index_latents(encodings) -> LatentSpace:
    """What the encodings give once per dataset (O(N log N): off the GUI thread)."""
    index = PointIndex(encodings.mu)
    return LatentSpace(index, SupportMeter(encodings.mu, index), encodings.kl_per_dim())


def build_map(mu: np.ndarray, projection: proj.Projection, source: tuple) -> BuiltMap:
    coords = projection.transform(mu)
    lo, hi = (coords.min(0), coords.max(0)) if len(coords) else (np.zeros(2), np.ones(2))
    return BuiltMap(projection, source, coords, PointIndex(coords), lo, hi)


def make_projection(mu: np.ndarray, source: tuple, latent_dim: int, vector=None) -> proj.Projection:
    """The projection `source` names; `vector` (an AttributeVector) for ("vector", i)."""
    if source[0] == "raw":
        return proj.raw_dims(latent_dim, source[1], source[2])
    if source[0] == "vector":
        return proj.along_vector(mu, vector.direction, vector.label or vector.name)
    if source[0] in METHODS:  # UMAP, t-SNE: fitted now (seconds to minutes: the compute thread's work)
        return embedded(source[0], mu)
    return proj.pca(mu)


@dataclass(frozen=True)
class FirstMap:
    """Everything the first map of new encodings needs, built in one piece."""

    space: LatentSpace
    map: BuiltMap
    colouring: Colouring
