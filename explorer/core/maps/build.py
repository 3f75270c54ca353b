"""A map, built in one piece off the GUI thread: the projection, every point's position and a
KD-tree of the positions (the nearest point under the cursor). And what the encodings give once
per dataset: a KD-tree of mu (nearest points in the latent space) and the data-support meter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.maps import projection as proj
from explorer.core.space.neighbours import PointIndex
from explorer.core.space.support import SupportMeter

PCA = ("pca",)  # how a map was made: ("pca",), ("raw", i, j) or ("vector", index)


@dataclass(frozen=True)
class LatentSpace:
    index: PointIndex  # mu of every data point
    meter: SupportMeter


@dataclass(frozen=True)
class BuiltMap:
    projection: proj.Projection
    source: tuple
    coords: np.ndarray  # (N, 2)
    index: PointIndex  # of coords


def index_latents(mu: np.ndarray) -> LatentSpace:
    index = PointIndex(mu)
    return LatentSpace(index, SupportMeter(mu, index))


def build_map(mu: np.ndarray, projection: proj.Projection, source: tuple) -> BuiltMap:
    coords = projection.transform(mu)
    return BuiltMap(projection, source, coords, PointIndex(coords))


def make_projection(mu: np.ndarray, source: tuple, latent_dim: int, vector=None) -> proj.Projection:
    """The projection `source` names; `vector` (an AttributeVector) for ("vector", i)."""
    if source[0] == "raw":
        return proj.raw_dims(latent_dim, source[1], source[2])
    if source[0] == "vector":
        return proj.along_vector(mu, vector.direction, vector.label or vector.name)
    return proj.pca(mu)
