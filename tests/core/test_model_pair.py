"""Linking two models' latent spaces, and their figures side by side."""

import numpy as np
import pytest

from explorer.core.space import health as H
from explorer.core.space import model_pair as P


@pytest.fixture
def mus():
    rng = np.random.default_rng(0)
    mu_a = rng.normal(size=(300, 4))
    m, c = rng.normal(size=(4, 6)), rng.normal(size=6)
    return mu_a, mu_a @ m + c, m, c


def test_matched_link_recovers_an_affine_map_between_the_spaces(mus):
    mu_a, mu_b, m, c = mus
    link = P.link(P.MATCHED, mu_a, mu_b)
    assert link.r2 == pytest.approx(1.0)
    z = np.array([0.5, -1.0, 2.0, 0.0])
    np.testing.assert_allclose(link(z), z @ m + c, rtol=1e-5, atol=1e-5)
    batch = link(np.stack([z, -z]))
    assert batch.shape == (2, 6) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[1], -z @ m + c, rtol=1e-5, atol=1e-5)
    assert "R^2 1.000" in link.describe()


def test_matched_link_reports_how_much_of_b_it_explains(mus):
    mu_a, _, _, _ = mus
    unrelated = np.random.default_rng(9).normal(size=(300, 3))
    assert P.link(P.MATCHED, mu_a, unrelated).r2 < 0.1


def test_same_link_is_the_identity_and_needs_latents_of_one_size(mus):
    mu_a, mu_b, _, _ = mus
    z = np.array([0.25, 1.0, -3.0, 0.5])
    same = P.link(P.SAME, mu_a, mu_a + 1)
    assert np.array_equal(same(z), z.astype(np.float32))
    with pytest.raises(P.PairError, match="differ in size .4 and 6.*through the data"):
        P.link(P.SAME, mu_a, mu_b)


def test_models_that_encoded_different_data_are_refused(mus):
    mu_a, mu_b, _, _ = mus
    with pytest.raises(P.PairError, match="different data: 300 and 299"):
        P.link(P.MATCHED, mu_a, mu_b[:-1])
    with pytest.raises(P.PairError, match="unknown link"):
        P.link("nearest", mu_a, mu_b)


def test_figure_rows_put_both_models_health_side_by_side():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(400, 3))
    dead = mu.copy()
    dead[:, 2] = 0.0
    logvar = np.full_like(mu, -2.0)
    a = {"health": H.measure(mu, logvar, prior_samples=200, mi_points=200).to_dict()}
    b = {"health": H.measure(dead, logvar, prior_samples=200, mi_points=200).to_dict()}
    rows = {name: (va, vb) for name, va, vb in P.figure_rows(a, b)}
    assert rows["active units"] == ("3 of 3", "2 of 3")
    kl_a = H.kl_per_dim(mu, logvar).sum()
    assert rows["KL, nats/image"][0] == f"{kl_a:.2f}"
    assert "MIG" not in rows and "IWAE bound, nats/image" not in rows  # neither model has them
    rows_with = {n: (x, y) for n, x, y in P.figure_rows({**a, "disentanglement": {"mig": {"mean": 0.5}}}, b)}
    assert rows_with["MIG"] == ("0.500", "-")
