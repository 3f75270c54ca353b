"""Sample-quality figures: the Frechet distance's closed form, the judges' confidence rule."""

import numpy as np
import pytest

from explorer.core.space import sample_quality as Q


def _whitened(n: int, d: int, seed: int = 0) -> np.ndarray:
    """n points in d dims with sample mean exactly 0 and sample covariance exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(0)
    return x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T


def test_frechet_distance_of_a_set_to_itself_is_zero():
    a = np.random.default_rng(1).normal(size=(500, 6))
    assert Q.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_its_closed_form():
    # b = 2 a + 3: means differ by 3 in each of d dims, covariances I and 4 I:
    # |m1 - m2|^2 + tr(I + 4 I - 2 (4 I)^(1/2)) = 9 d + d
    d = 5
    a = _whitened(400, d)
    assert Q.frechet_distance(a, 2 * a + 3) == pytest.approx(10 * d, rel=1e-6)


def test_frechet_distance_grows_with_the_shift():
    a = _whitened(300, 4, seed=2)
    near, far = Q.frechet_distance(a, a + 0.5), Q.frechet_distance(a, a + 2.0)
    assert near == pytest.approx(4 * 0.25, rel=1e-6)
    assert far == pytest.approx(4 * 4.0, rel=1e-6)


class _Judge:
    def __init__(self, p):
        self.p = np.asarray(p)

    def probability(self, images):
        return self.p[: len(images)]


def test_an_image_counts_as_confident_only_when_every_judge_is_sure():
    images = np.zeros((4, 32, 32, 3), np.uint8)
    smiling = _Judge([0.95, 0.05, 0.95, 0.5])  # sure, sure (not smiling), sure, unsure
    glasses = _Judge([0.99, 0.02, 0.85, 0.99])  # sure, sure, unsure, sure
    assert Q.confident_fraction(images, [smiling]) == 0.75
    assert Q.confident_fraction(images, [smiling, glasses]) == 0.5
    assert Q.confident_fraction(images, [smiling, glasses], threshold=0.8) == 0.75


def test_feature_space_centres_the_reference_on_orthonormal_components():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(120, 64, 64, 3), dtype=np.uint8)
    space = Q.FeatureSpace.fit(images, dims=10, side=32)
    assert space.components.shape == (10, 1024)
    np.testing.assert_allclose(space.components @ space.components.T, np.eye(10), atol=1e-8)
    features = space.features(images)
    assert features.shape == (120, 10)
    np.testing.assert_allclose(features.mean(0), 0, atol=1e-10)
    # variances come in the order of the components
    assert np.all(np.diff(features.var(0)) <= 1e-12)
