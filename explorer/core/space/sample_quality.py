"""Do a model's samples look like the data? Two figures, for prior samples and reconstructions.

- **Judged confidently**: the fraction of images that every pixel judge (explorer.core.space.judges:
  one logistic regression per binary label, trained on real images) classifies with confidence
  >= CONFIDENT, i.e. max(p, 1 - p) >= 0.9 for each label. A real face is clearly smiling or not,
  wearing glasses or not; a blur between faces, or noise, leaves the judges unsure. These judges
  read full-size grey pixels (JUDGE_SIDE) and are weakly regularised (JUDGE_C): the window's
  32 px judges are unsure of a third of real faces' open eyes, which would hide any difference.
- **Frechet distance** (the FID's formula, Heusel et al. 2017) between the images and held-out
  real ones, in the judges' own feature space: their grey pixels (judges.grey) projected on the
  FEATURE_DIMS leading principal components of the reference images. FD = |m1 - m2|^2 +
  tr(S1 + S2 - 2 (S1 S2)^(1/2)). It is biased upwards for small samples, so compare figures only
  at the same sample size; `real_vs_real` (held-out faces against other held-out faces) is the
  floor a perfect model would reach.

No Qt: benchmarks/bundled_model.py and tests use it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.data import DatasetLike
from explorer.core.space.judges import PixelJudge, grey

CONFIDENT = 0.9
FEATURE_DIMS = 64
JUDGE_SIDE, JUDGE_C, JUDGE_TRAIN = 64, 10.0, 6000


def fit_judges(train: DatasetLike, heldout: DatasetLike, labels) -> list[PixelJudge]:
    """One judge per binary label, as sample quality uses them."""
    return [PixelJudge.fit(train, label, JUDGE_TRAIN, heldout, side=JUDGE_SIDE, c=JUDGE_C) for label in labels]


@dataclass(frozen=True)
class FeatureSpace:
    """The leading principal components of reference images' grey pixels (side x side)."""

    mean: np.ndarray  # (side * side,)
    components: np.ndarray  # (dims, side * side), orthonormal rows
    side: int

    @classmethod
    def fit(cls, images: np.ndarray, dims: int = FEATURE_DIMS, side: int = JUDGE_SIDE) -> FeatureSpace:
        x = grey(images, side).astype(np.float64)
        mean = x.mean(0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        return cls(mean, vt[:dims], side)

    def features(self, images: np.ndarray) -> np.ndarray:
        return (grey(images, self.side).astype(np.float64) - self.mean) @ self.components.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to the rows of a and of b."""
    from scipy import linalg

    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s1 @ s2)
    if np.iscomplexobj(root):  # round-off leaves tiny imaginary parts on a PSD product
        root = root.real
    return float(max(np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * root), 0.0))


def confident_fraction(images: np.ndarray, judges: list[PixelJudge], threshold: float = CONFIDENT) -> float:
    """The fraction of images every judge classifies with confidence >= threshold."""
    confident = np.ones(len(images), bool)
    for judge in judges:
        p = judge.probability(images)
        confident &= np.maximum(p, 1 - p) >= threshold
    return float(confident.mean())


@dataclass(frozen=True)
class SampleQuality:
    what: str  # "prior samples", "reconstructions", "held-out faces"
    n: int
    confident: float  # fraction judged confidently
    frechet: float  # against the reference images, in the feature space


def judge(
    what: str, images: np.ndarray, reference: np.ndarray, space: FeatureSpace, judges: list[PixelJudge]
) -> SampleQuality:
    """Both figures for `images` against `reference` features (space.features of real images)."""
    return SampleQuality(
        what, len(images), confident_fraction(images, judges), frechet_distance(space.features(images), reference)
    )
