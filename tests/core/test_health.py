"""Model health (explorer.core.space.health): each figure against a case whose answer is known."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from explorer.core.space import health as H
from explorer_models.contract import Likelihood, ModelInfo
from explorer_models.evaluation import per_image_terms
from explorer_models.vae import images_to_tensor


class DeadDimsVAE:
    """A FakeVAE whose encoder ignores the image in some dimensions (mu = 0, logvar = 0 there)."""

    def __init__(self, fake_vae, dead=(2, 5), latent_dim=6):
        self.inner = fake_vae(latent_dim=latent_dim, image_shape=(1, 8, 8))
        self.latent_dim, self.image_shape, self.info = latent_dim, (1, 8, 8), self.inner.info
        self.dead = list(dead)

    def encode(self, x):
        mu, logvar = self.inner.encode(x)
        mu, logvar = mu * 3, logvar.clone()  # FakeVAE's mu vary by ~0.1: make every live unit clearly active
        mu[:, self.dead], logvar[:, self.dead] = 0.0, 0.0
        return mu, logvar

    def decode(self, z):
        return self.inner.decode(z)


class LinearGaussianVAE:
    """p(z) = N(0, I), p(x|z) = N(W z + b, sigma^2 I), with the exact posterior as its encoder
    (optionally with its mean shifted by `shift`): log p(x) = log N(x; b, W W^T + sigma^2 I) is known."""

    def __init__(self, latent_dim=2, pixels=16, sigma=0.1, shift=0.0, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.latent_dim, self.image_shape = latent_dim, (1, 4, pixels // 4)
        self.info = ModelInfo(name="linear-gaussian", content_hash="0" * 64)
        self.likelihood = Likelihood("gaussian", sigma)
        # orthogonal columns: W^T W is diagonal, so is the posterior's covariance (a mean-field encoder is exact)
        q, _ = torch.linalg.qr(torch.randn(pixels, latent_dim, generator=g, dtype=torch.float64))
        self.w = q * torch.linspace(0.5, 0.2, latent_dim, dtype=torch.float64)
        self.b = torch.full((pixels,), 0.5, dtype=torch.float64)
        self.sigma, self.shift = sigma, shift
        self.post_cov = torch.linalg.inv(torch.eye(latent_dim, dtype=torch.float64) + self.w.T @ self.w / sigma**2)

    def encode(self, x):
        r = x.flatten(1).double() - self.b
        mu = r @ self.w @ self.post_cov / self.sigma**2 + self.shift  # post_cov is symmetric
        logvar = torch.log(torch.diagonal(self.post_cov)).expand_as(mu)
        return mu.float(), logvar.float()

    def decode(self, z):
        return (z.double() @ self.w.T + self.b).float().reshape(len(z), *self.image_shape)

    def log_px(self, images: np.ndarray) -> np.ndarray:
        x = images_to_tensor(images).flatten(1).double()
        cov = self.w @ self.w.T + self.sigma**2 * torch.eye(len(self.b), dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x).numpy()


def images(n, shape=(1, 4, 4), seed=0):
    c, h, w = shape
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


# -- active units, KL per dimension ---------------------------------------------------------------
def test_active_units_are_exactly_the_dimensions_the_encoder_uses(fake_vae):
    model = DeadDimsVAE(fake_vae, dead=(2, 5))
    mu, logvar = model.encode(images_to_tensor(images(400, (1, 8, 8))))
    health = H.measure(mu.numpy(), logvar.numpy(), mi_points=200, prior_samples=200)
    assert health.inactive_dims == (2, 5)
    assert int(health.active.sum()) == 4 and list(np.flatnonzero(health.active)) == [0, 1, 3, 4]
    assert health.activity[[2, 5]].max() == 0.0 and health.activity[[0, 1, 3, 4]].min() > H.ACTIVE_THRESHOLD
    assert health.flags()[0] == "2 of 6 latent dimensions are inactive (posterior collapse): dims 2, 5"
    assert health.holes is not None and health.holes.dims == (0, 1, 3, 4)
    facts = health.to_dict()["active_units"]
    assert facts["count"] == 4 and facts["inactive"] == [2, 5] and facts["active"] == [0, 1, 3, 4]


def test_a_unit_just_below_the_threshold_is_inactive_and_just_above_is_active():
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((10_000, 3))
    mu /= mu.std(0)  # unit variance exactly
    mu *= np.sqrt([0.009, 0.011, 1.0])
    health = H.measure(mu, np.zeros_like(mu), mi_points=100, prior_samples=100)
    assert health.inactive_dims == (0,)
    np.testing.assert_allclose(health.activity, [0.009, 0.011, 1.0], rtol=1e-9)


def test_all_units_collapsed_says_so_and_measures_no_holes():
    mu = np.full((300, 4), 0.25)
    health = H.measure(mu, np.zeros_like(mu), mi_points=100)
    assert health.inactive_dims == (0, 1, 2, 3) and int(health.active.sum()) == 0
    assert health.flags() == [
        "all 4 latent dimensions are inactive: the posterior has collapsed, the decoder ignores z"
    ]
    assert health.holes is None and health.to_dict()["prior_holes"] is None


def test_kl_per_dimension_is_the_closed_form_averaged_over_the_data():
    mu = np.array([[1.0, 0.0], [3.0, -2.0]])
    logvar = np.array([[0.0, math.log(4.0)], [math.log(0.25), 0.0]])
    dim0 = (0.5 * (1 + 1 - 0 - 1) + 0.5 * (9 + 0.25 - math.log(0.25) - 1)) / 2
    dim1 = (0.5 * (0 + 4 - math.log(4.0) - 1) + 0.5 * (4 + 1 - 0 - 1)) / 2
    kl = H.kl_per_dim(mu, logvar)
    np.testing.assert_allclose(kl, [dim0, dim1], rtol=1e-12)
    assert dim0 == pytest.approx(2.6590736, abs=1e-6) and dim1 == pytest.approx(1.4034264, abs=1e-6)
    health = H.measure(mu, logvar, mi_points=2, prior_samples=10)
    assert list(health.kl_order) == [0, 1]
    np.testing.assert_allclose(health.kl_per_dim, [dim0, dim1], rtol=1e-12)


# -- mutual information ------------------------------------------------------------------------
def test_mutual_information_is_zero_when_every_posterior_is_the_prior():
    mu, logvar = np.zeros((2000, 4)), np.zeros((2000, 4))
    mi, used = H.mutual_information(mu, logvar, points=2000, seed=0)
    assert used == 2000 and abs(mi) < 0.15


def test_mutual_information_is_log_m_when_the_posteriors_are_far_apart_points():
    mu = np.arange(3000, dtype=np.float64)[:, None] * np.array([[100.0, 0.0]])
    logvar = np.full_like(mu, math.log(1e-4))
    mi, used = H.mutual_information(mu, logvar, points=500, seed=3)
    # log q(z) is exactly log N(z; mu_j, var_j) - log M; the noise left is E|eps|^2 over 500 samples (std 0.045)
    assert used == 500 and mi == pytest.approx(math.log(500), abs=0.2)


# -- the log-likelihood: IWAE and ELBO -------------------------------------------------------------
def test_iwae_and_elbo_equal_the_exact_log_likelihood_when_the_encoder_is_the_exact_posterior(monkeypatch):
    model, x = LinearGaussianVAE(), images(40)
    exact = model.log_px(x)
    monkeypatch.setattr(H, "STEP_LATENTS", 3)  # K split over decoder calls, one image per step
    est = H.importance_weighted(model, x, k=8, seed=0)
    assert est.k == 8 and est.n == 40
    # every importance weight is p(x) itself: no sample noise at all
    np.testing.assert_allclose(est.iwae, exact, atol=2e-3)
    np.testing.assert_allclose(est.elbo, exact, atol=2e-3)


def test_iwae_is_at_least_the_elbo_and_tightens_with_k_towards_log_p_x():
    model, x = LinearGaussianVAE(shift=0.15), images(64)  # a posterior mean off by 0.15: the ELBO is loose
    exact = float(model.log_px(x).mean())
    small, large = H.importance_weighted(model, x, k=4, seed=0), H.importance_weighted(model, x, k=256, seed=0)
    assert np.all(small.iwae >= small.elbo - 1e-9) and np.all(large.iwae >= large.elbo - 1e-9)
    gap, gap_se = small.gap_mean_se
    assert gap > 0 and gap > 3 * gap_se
    elbo = large.elbo_mean_se[0]
    # IWAE_K is a lower bound in expectation; one estimate may exceed log p(x) by its sample noise (~0.01 here)
    assert elbo < small.iwae_mean_se[0] < large.iwae_mean_se[0] <= exact + 0.05
    assert exact - large.iwae_mean_se[0] < 0.2 * (exact - elbo)  # K = 256 closes most of the gap


def test_the_estimate_does_not_depend_on_how_the_images_are_batched(monkeypatch):
    model, x = LinearGaussianVAE(shift=0.2), images(30)
    whole = H.importance_weighted(model, x, k=8, seed=5)
    monkeypatch.setattr(H, "STEP_LATENTS", 16)  # two images a step
    steps = H.importance_weighted_steps(model, x, k=8, seed=5)
    reports = []
    while True:
        try:
            reports.append(next(steps))
        except StopIteration as done:
            stepped = done.value
            break
    assert [p.done for p in reports] == [*range(2, 31, 2)] and {p.total for p in reports} == {30}
    np.testing.assert_allclose(stepped.iwae, whole.iwae, rtol=1e-6)
    np.testing.assert_allclose(stepped.elbo, whole.elbo, rtol=1e-6)
    # image j's estimate is its own: the same image alone, seeded seed + j, gives it
    alone = H.importance_weighted(model, x[7:8], k=8, seed=5 + 7)
    np.testing.assert_allclose(alone.iwae, whole.iwae[7:8], rtol=1e-6)


def test_k_1_is_the_elbo_and_matches_the_projects_own_elbo_within_its_standard_error():
    model, x = LinearGaussianVAE(shift=0.3), images(200)
    one = H.importance_weighted(model, x, k=1, seed=1)
    np.testing.assert_array_equal(one.iwae, one.elbo)
    mean, se = one.iwae_mean_se
    assert 0.5 < se < 2  # images differ by ~15 nats: std / sqrt(200)

    def project_elbo(seed):  # the ELBO the rest of the project computes: one z ~ q(z|x), the KL in closed form
        terms = per_image_terms(model, images_to_tensor(x), torch.Generator().manual_seed(seed))
        return float(-(terms["recon"] + terms["kl"]).double().mean())

    assert abs(mean - project_elbo(7)) <= se
    many = H.importance_weighted(model, x, k=256, seed=1)
    assert abs(many.elbo_mean_se[0] - mean) <= se
    # with the sample noise averaged away, the two ELBO estimators agree far more closely than se
    assert abs(many.elbo_mean_se[0] - np.mean([project_elbo(s) for s in range(16)])) < 0.15 * se
    assert many.iwae_mean_se[0] - many.elbo_mean_se[0] > 1.0  # the posterior mean is off: IWAE is tighter


def test_the_likelihood_estimate_is_deterministic_for_a_seed(fake_vae):
    model, x = fake_vae(latent_dim=3, image_shape=(1, 8, 8)), images(20, (1, 8, 8))
    a, b = H.importance_weighted(model, x, k=5, seed=4), H.importance_weighted(model, x, k=5, seed=4)
    c = H.importance_weighted(model, x, k=5, seed=5)
    np.testing.assert_array_equal(a.iwae, b.iwae)
    assert not np.array_equal(a.iwae, c.iwae)
    with pytest.raises(ValueError, match="at least 1"):
        H.importance_weighted(model, x, k=0)


# -- the aggregate posterior ---------------------------------------------------------------------
def _prior_like(n=20_000, d=4, posterior_var=0.3, seed=0):
    """Encodings whose aggregate posterior is N(0, I): mu ~ N(0, 1 - s^2), q(z|x) = N(mu, s^2)."""
    mu = np.random.default_rng(seed).standard_normal((n, d)) * math.sqrt(1 - posterior_var)
    return mu, np.full_like(mu, math.log(posterior_var))


def test_gaussian_fit_kl_is_zero_for_a_prior_like_aggregate_and_the_closed_form_otherwise():
    mu, logvar = _prior_like()
    assert H.gaussian_fit_kl(mu, logvar) < 0.01
    health = H.measure(mu, logvar, mi_points=200, prior_samples=200)
    np.testing.assert_allclose(health.aggregate_var, 1.0, atol=0.03)
    np.testing.assert_allclose(health.mu_mean, 0.0, atol=0.03)
    np.testing.assert_allclose(health.activity, 0.7, atol=0.03)
    # shifted by 2 in each of 4 dims: 0.5 m^T m = 8
    assert H.gaussian_fit_kl(mu + 2, logvar) == pytest.approx(8.0, abs=0.05)
    # mu scaled by 3: S = 9 * 0.7 + 0.3 = 6.6 per dim, KL = 0.5 * 4 * (6.6 - 1 - log 6.6)
    assert H.gaussian_fit_kl(mu * 3, logvar) == pytest.approx(2 * (5.6 - math.log(6.6)), rel=0.02)


def test_gaussian_fit_kl_uses_the_full_covariance():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(50_000)
    mu = np.stack([a, a + 0.1 * rng.standard_normal(50_000)], 1) * math.sqrt(0.9)  # highly correlated
    logvar = np.full_like(mu, math.log(0.1))
    s = np.cov(mu, rowvar=False, bias=True) + 0.1 * np.eye(2)
    m = mu.mean(0)
    expected = 0.5 * (np.trace(s) + m @ m - 2 - np.log(np.linalg.det(s)))
    assert H.gaussian_fit_kl(mu, logvar) == pytest.approx(expected, rel=1e-9)
    assert expected > 0.5  # the diagonal alone (variances ~1) would say ~0


# -- prior holes --------------------------------------------------------------------------------
def test_no_prior_holes_when_the_data_fill_the_prior():
    mu = np.random.default_rng(2).standard_normal((4000, 4))
    health = H.measure(mu, np.full_like(mu, -9.0), mi_points=200)
    assert health.holes is not None and health.holes.samples == H.PRIOR_SAMPLES
    assert health.holes.fraction < 0.05
    assert not any("prior holes" in f for f in health.flags())


def test_prior_holes_when_the_data_sit_in_a_small_ball_far_from_the_origin():
    mu = 10 + 0.1 * np.random.default_rng(2).standard_normal((4000, 4))
    health = H.measure(mu, np.full_like(mu, -9.0), mi_points=200)
    assert health.holes.fraction > 0.99
    assert health.holes.reference < 0.2
    assert any(f.startswith("prior holes: 100% of samples from the prior") for f in health.flags())


# -- the report -----------------------------------------------------------------------------------
def test_the_report_is_deterministic_prints_each_section_and_is_plain_json(fake_vae):
    model = DeadDimsVAE(fake_vae, dead=(1,), latent_dim=3)
    x = images(30, (1, 8, 8))
    mu, logvar = (t.numpy() for t in model.encode(images_to_tensor(x)))
    a = H.measure(mu, logvar, model=model, images=x[:10], k=3, seed=2, mi_points=20, prior_samples=50)
    b = H.measure(mu, logvar, model=model, images=x[:10], k=3, seed=2, mi_points=20, prior_samples=50)
    text = json.dumps(a.to_dict(), allow_nan=False)
    assert text == json.dumps(b.to_dict(), allow_nan=False)
    facts = json.loads(text)
    assert facts["likelihood"]["k"] == 3 and facts["likelihood"]["images"] == 10
    assert facts["likelihood"]["iwae"]["mean"] >= facts["likelihood"]["elbo"]["mean"]
    assert facts["kl_per_dim"]["order"][-1] == 1 and facts["kl_per_dim"]["values"][1] == 0.0
    lines = a.lines()
    starts = ["active units", "KL per dim", "mutual info", "log-likelihood  IWAE (K = 3)", "aggregate q(z)"]
    for start in [*starts, "prior holes", "flags           1 of 3 latent dimensions are inactive"]:
        assert any(line.startswith(start) for line in lines), start
    rows = lines[3:6]  # the table, one row per dimension, largest KL first
    assert rows[-1].split()[0] == "1" and rows[-1].endswith("inactive")
    assert not any(r.endswith("inactive") for r in rows[:-1])


def test_pick_images_is_a_seeded_sorted_sample():
    a = H.pick_images(1000, 10, seed=3)
    assert len(set(a)) == 10 and list(a) == sorted(a) and a.max() < 1000
    np.testing.assert_array_equal(a, H.pick_images(1000, 10, seed=3))
    np.testing.assert_array_equal(H.pick_images(5, 10), np.arange(5))
