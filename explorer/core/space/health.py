"""Model health: is the VAE using its latent space, and how good a generative model is it?

From the data's encodings (mu, logvar per point) and, for the likelihood, the model and some of
the data's images:

- Active units (Burda et al. 2016): A_u = Var_x(E_q[z_u | x]) = the variance over the data of
  mu_u. Unit u is active when A_u > ACTIVE_THRESHOLD (0.01).
- KL per dimension: mean over the data of KL(q(z_u|x) || N(0, 1)) =
  0.5 (mu_u^2 + exp(logvar_u) - logvar_u - 1).
- Mutual information I(x; z) = E_x[KL(q(z|x) || p(z))] - KL(q(z) || p(z))
  = E_x E_{q(z|x)}[log q(z|x)] - E_{q(z)}[log q(z)] (Hoffman & Johnson 2016, "ELBO surgery";
  the estimator of He et al. 2019, "Lagging inference networks"): on a seeded sample of M data
  points (MI_POINTS), E_x[log q(z|x)] = mean_i (-D/2 log 2 pi - 1/2 sum_u (1 + logvar_iu)) in
  closed form, and log q(z) for one z_j ~ q(z|x_j) per sampled point is
  logsumexp_i log N(z_j; mu_i, exp(logvar_i)) - log M, the aggregate posterior approximated by the
  mixture of the M sampled posteriors. The estimate cannot exceed about log M.
- Log-likelihood (Burda et al. 2016, IWAE bound): per image, with z_k ~ q(z|x), k = 1..K,
  log w_k = log p(x|z_k) + log N(z_k; 0, I) - log q(z_k|x), log p(x|z) from the model's declared
  likelihood (explorer_models.contract.likelihood_of), and
  IWAE_K = logsumexp_k log w_k - log K <= log p(x); ELBO = mean_k log w_k on the same samples
  (IWAE_1 is the ELBO). Reported as mean and standard error (std / sqrt(n)) over the n images.
- Aggregate posterior q(z) = mean_x q(z|x) against the prior: per dimension the mean and the
  variance of mu; q(z)'s mean m = mean(mu) and covariance S = Cov(mu) + diag(mean(exp(logvar)))
  (the exact moments of the mixture); the Gaussian-fit KL(N(m, S) || N(0, I)) =
  0.5 (tr S + m^T m - D - log det S).
- Prior holes: PRIOR_SAMPLES samples z ~ N(0, I), in the active dimensions only (in an inactive
  one the posterior is the prior and the decoder ignores z: every sample would look far), and
  the fraction of them whose nearest data mu is farther than HOLE_PERCENTILE (99)% of data points
  are from their own nearest neighbour (scipy cKDTree, as explorer.core.space.neighbours).

Everything is deterministic for a seed. No Qt: the CLI (`vae-explorer health`) and a notebook
use it as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.io.json_document import finite_list, finite_or_none
from explorer.core.space.neighbours import PointIndex
from explorer.core.steps import Progress, Steps, run_steps

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016
MI_POINTS = 2000  # data points in the mutual-information estimate (the mixture and the outer mean)
PRIOR_SAMPLES = 2000  # prior samples in the prior-holes measure
SPACING_SAMPLE = 2000  # data points whose nearest-neighbour distance sets the holes' reference
HOLE_PERCENTILE = 99
HOLES_FLAG = 0.10  # flag prior holes when more than this fraction of prior samples is off the data
DEFAULT_K = 64
STEP_LATENTS = 256  # latents decoded per step (and per model call) of the IWAE estimate
ESTIMATING = "estimating the log-likelihood"
_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class LikelihoodEstimate:
    """Per-image IWAE_K and ELBO (nats) on n images with K importance samples each."""

    k: int
    iwae: np.ndarray  # (n,)
    elbo: np.ndarray  # (n,)

    @property
    def n(self) -> int:
        return len(self.iwae)

    def mean_se(self, values: np.ndarray) -> tuple[float, float]:
        se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
        return float(np.mean(values)), se

    @property
    def iwae_mean_se(self) -> tuple[float, float]:
        return self.mean_se(self.iwae)

    @property
    def elbo_mean_se(self) -> tuple[float, float]:
        return self.mean_se(self.elbo)

    @property
    def gap_mean_se(self) -> tuple[float, float]:
        """IWAE - ELBO, image by image (>= 0 for each: the log of a mean >= the mean of logs)."""
        return self.mean_se(self.iwae - self.elbo)


@dataclass(frozen=True)
class PriorHoles:
    fraction: float  # of prior samples farther from the data than `reference`
    reference: float  # HOLE_PERCENTILE-th percentile of the data's nearest-neighbour distances
    samples: int
    dims: tuple[int, ...]  # the (active) dimensions measured


@dataclass(frozen=True)
class Health:
    n_points: int
    activity: np.ndarray  # (D,) A_u = Var_x(mu_u)
    kl_per_dim: np.ndarray  # (D,) mean KL(q(z_u|x) || N(0, 1))
    mutual_information: float  # nats
    mi_points: int
    mu_mean: np.ndarray  # (D,) = the aggregate posterior's mean
    aggregate_var: np.ndarray  # (D,) Var(mu_u) + mean(exp(logvar_u))
    gaussian_kl: float  # KL(N(m, S) || N(0, I)), nats
    holes: PriorHoles | None  # None when no unit is active
    likelihood: LikelihoodEstimate | None = None

    @property
    def latent_dim(self) -> int:
        return len(self.activity)

    @property
    def active(self) -> np.ndarray:
        return self.activity > ACTIVE_THRESHOLD

    @property
    def inactive_dims(self) -> tuple[int, ...]:
        return tuple(int(u) for u in np.flatnonzero(~self.active))

    @property
    def kl_order(self) -> np.ndarray:
        """Dimensions by KL, largest first (ties by dimension number)."""
        return np.argsort(-self.kl_per_dim, kind="stable")

    def flags(self) -> list[str]:
        out, d, off = [], self.latent_dim, self.inactive_dims
        if len(off) == d:
            out.append(f"all {d} latent dimensions are inactive: the posterior has collapsed, the decoder ignores z")
        elif off:
            out.append(f"{len(off)} of {d} latent dimensions are inactive (posterior collapse): dims {_dims(off)}")
        if self.holes is not None and self.holes.fraction > HOLES_FLAG:
            out.append(
                f"prior holes: {self.holes.fraction:.0%} of samples from the prior N(0, I) lie farther from "
                f"every data point than {HOLE_PERCENTILE}% of data points are from theirs; samples from the "
                "prior will often not look like the data"
            )
        return out

    def lines(self) -> list[str]:
        d, active = self.latent_dim, self.active
        total_kl = float(self.kl_per_dim.sum())
        out = [
            f"active units    {int(active.sum())} of {d} (Var over the data of mu_u > {ACTIVE_THRESHOLD:g}; "
            f"{self.n_points:,} points)",
            f"KL per dim      total {total_kl:.2f} nats/image; by dimension, largest first:",
            "    dim      KL   Var(mu)  mean(mu)  Var(q(z))",
        ]
        for u in self.kl_order:
            mark = "" if active[u] else "  inactive"
            out.append(
                f"  {u:5d} {self.kl_per_dim[u]:7.3f} {self.activity[u]:9.4f} {self.mu_mean[u]:+9.3f} "
                f"{self.aggregate_var[u]:10.3f}{mark}"
            )
        out.append(
            f"mutual info     I(x; z) ~ {self.mutual_information:.2f} nats ({self.mi_points:,} points; "
            f"at most log {self.mi_points:,} = {math.log(max(self.mi_points, 1)):.2f})"
        )
        if self.likelihood is not None:
            est = self.likelihood
            (im, ise), (em, ese), (gm, gse) = est.iwae_mean_se, est.elbo_mean_se, est.gap_mean_se
            out += [
                f"log-likelihood  IWAE (K = {est.k}) {im:.2f} +- {_num(ise)} nats/image ({est.n:,} images)",
                f"                ELBO            {em:.2f} +- {_num(ese)} (same samples); IWAE - ELBO "
                f"{gm:.2f} +- {_num(gse)}",
            ]
        out.append(
            f"aggregate q(z)  Gaussian-fit KL(q(z) || N(0, I)) {self.gaussian_kl:.2f} nats; |mean| "
            f"{float(np.linalg.norm(self.mu_mean)):.3f}, variances {float(self.aggregate_var.min()):.3f} "
            f"to {float(self.aggregate_var.max()):.3f} (the prior: 0 and 1)"
        )
        if self.holes is not None:
            h = self.holes
            out.append(
                f"prior holes     {h.fraction:.1%} of {h.samples:,} prior samples are farther from every data mu "
                f"than {h.reference:.3f} ({HOLE_PERCENTILE}th percentile of the data's own spacing; "
                f"{len(h.dims)} active dims)"
            )
        flags = self.flags()
        out.append("flags           " + ("none" if not flags else flags[0]))
        out += [f"                {f}" for f in flags[1:]]
        return out

    def to_dict(self) -> dict:
        """The figures as plain JSON values (a number that is not finite becomes null)."""
        out = {
            "points": self.n_points,
            "latent_dim": self.latent_dim,
            "active_units": {
                "threshold": ACTIVE_THRESHOLD,
                "count": int(self.active.sum()),
                "active": [int(u) for u in np.flatnonzero(self.active)],
                "inactive": list(self.inactive_dims),
                "activity": finite_list(self.activity),
            },
            "kl_per_dim": {"values": finite_list(self.kl_per_dim), "order": [int(u) for u in self.kl_order]},
            "mutual_information": {"nats": finite_or_none(self.mutual_information), "points": self.mi_points},
            "aggregate_posterior": {
                "mu_mean": finite_list(self.mu_mean),
                "mu_var": finite_list(self.activity),
                "var": finite_list(self.aggregate_var),
                "gaussian_kl": finite_or_none(self.gaussian_kl),
            },
            "prior_holes": None,
            "likelihood": None,
            "flags": self.flags(),
        }
        if self.holes is not None:
            h = self.holes
            out["prior_holes"] = {
                "fraction": h.fraction,
                "reference": finite_or_none(h.reference),
                "percentile": HOLE_PERCENTILE,
                "samples": h.samples,
                "dims": list(h.dims),
            }
        if self.likelihood is not None:
            est = self.likelihood
            out["likelihood"] = {"k": est.k, "images": est.n}
            for name, (m, se) in (("iwae", est.iwae_mean_se), ("elbo", est.elbo_mean_se), ("gap", est.gap_mean_se)):
                out["likelihood"][name] = {"mean": finite_or_none(m), "se": finite_or_none(se)}
        return out


def _dims(dims) -> str:
    return ", ".join(map(str, dims))


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "?"


# -- the measures --------------------------------------------------------------------------------
def activity(mu: np.ndarray) -> np.ndarray:
    """A_u = Var_x(mu_u), per dimension (population variance, float64)."""
    return np.asarray(mu, np.float64).var(axis=0)


def kl_per_dim(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Mean over the data of 0.5 (mu^2 + exp(logvar) - logvar - 1), per dimension."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return (0.5 * (mu**2 + np.exp(logvar) - logvar - 1)).mean(axis=0)


def mutual_information(mu: np.ndarray, logvar: np.ndarray, points: int = MI_POINTS, seed: int = 0) -> tuple[float, int]:
    """(I(x; z) estimate in nats, the M points it used): see the module docstring."""
    rng = np.random.default_rng(seed)
    n = len(mu)
    pick = np.sort(rng.choice(n, min(points, n), replace=False))
    m = torch.from_numpy(np.asarray(mu, np.float64)[pick])
    lv = torch.from_numpy(np.asarray(logvar, np.float64)[pick])
    count, d = m.shape
    neg_entropy = (-0.5 * d * _LOG_2PI - 0.5 * (1 + lv).sum(1)).mean()
    z = m + torch.exp(0.5 * lv) * torch.from_numpy(rng.standard_normal(m.shape))
    inv_var, log_norm = torch.exp(-lv), -0.5 * (lv.sum(1) + d * _LOG_2PI)  # (M, D), (M,)
    log_qz = []
    for part in torch.split(z, max(1, 2**22 // max(count * d, 1))):  # (c, M, D) at most ~32 MB
        log_dens = log_norm - 0.5 * ((part[:, None, :] - m) ** 2 * inv_var).sum(-1)
        log_qz.append(torch.logsumexp(log_dens, 1) - math.log(count))
    return float(neg_entropy - torch.cat(log_qz).mean()), count


def gaussian_fit_kl(mu: np.ndarray, logvar: np.ndarray) -> float:
    """KL(N(m, S) || N(0, I)) with q(z)'s mean m and covariance S = Cov(mu) + diag(mean(exp(logvar)))."""
    mu = np.asarray(mu, np.float64)
    m = mu.mean(0)
    s = np.atleast_2d(np.cov(mu, rowvar=False, bias=True)) + np.diag(np.exp(np.asarray(logvar, np.float64)).mean(0))
    sign, logdet = np.linalg.slogdet(s)
    if sign <= 0:
        return math.inf
    return float(0.5 * (np.trace(s) + m @ m - len(m) - logdet))


def prior_holes(mu: np.ndarray, dims: np.ndarray, samples: int = PRIOR_SAMPLES, seed: int = 0) -> PriorHoles | None:
    """The fraction of prior samples (in `dims`) farther from every data mu than the data's own
    HOLE_PERCENTILE-th percentile nearest-neighbour distance; None without dims or with < 2 points."""
    dims = np.asarray(dims, int)
    if len(dims) == 0 or len(mu) < 2:
        return None
    index = PointIndex(np.asarray(mu)[:, dims])
    reference = float(np.percentile(index.spacing(SPACING_SAMPLE, seed), HOLE_PERCENTILE))
    z = np.random.default_rng(seed).standard_normal((samples, len(dims)))
    distance, _ = index.distances(z)
    return PriorHoles(float(np.mean(distance > reference)), reference, samples, tuple(int(u) for u in dims))


@torch.no_grad()
def importance_weighted_steps(
    model, images: np.ndarray, k: int = DEFAULT_K, seed: int = 0, device: str | torch.device = "cpu"
) -> Steps[LikelihoodEstimate]:
    """IWAE_K and ELBO per image of uint8 (n, H, W, C) `images` (see the module docstring), a step
    per STEP_LATENTS latents decoded (the window's model thread serves a cursor decode between
    two). Image j's K samples come from a torch.Generator seeded seed + j on `device`, so the
    figures are the same however the images are batched: the CLI, the report and the window agree."""
    from explorer_models.contract import likelihood_of
    from explorer_models.vae import images_to_tensor

    if k < 1:
        raise ValueError(f"K must be at least 1, not {k}")
    likelihood = likelihood_of(model)
    per_batch = max(1, STEP_LATENTS // k)
    iwae, elbo = [], []
    for start in range(0, len(images), per_batch):
        x = images_to_tensor(images[start : start + per_batch], device)
        mu, logvar = (t.float() for t in model.encode(x))
        std = torch.exp(0.5 * logvar)
        eps = torch.stack(
            [
                torch.randn((k, mu.shape[1]), generator=torch.Generator(device=device).manual_seed(seed + start + i))
                for i in range(len(x))
            ]
        ).to(mu.device)
        z = (mu[:, None] + std[:, None] * eps).reshape(-1, mu.shape[1])
        x_mean = torch.cat([model.decode(part) for part in z.split(STEP_LATENTS)])
        xs = x[:, None].expand(len(x), k, *x.shape[1:]).reshape(len(x) * k, *x.shape[1:])
        nll = likelihood.neg_log_likelihood(xs, x_mean).reshape(len(x), k)
        log_pz = -0.5 * (z.reshape(len(x), k, -1) ** 2 + _LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps**2 + logvar[:, None] + _LOG_2PI).sum(-1)
        w = (-nll + log_pz - log_qz).double()
        iwae.append(torch.logsumexp(w, 1) - math.log(k))
        elbo.append(w.mean(1))
        yield Progress(min(start + per_batch, len(images)), len(images), ESTIMATING)
    return LikelihoodEstimate(k, torch.cat(iwae).cpu().numpy(), torch.cat(elbo).cpu().numpy())


@torch.no_grad()
def importance_weighted(
    model, images: np.ndarray, k: int = DEFAULT_K, seed: int = 0, device: str | torch.device = "cpu"
) -> LikelihoodEstimate:
    """importance_weighted_steps, run to the end."""
    return run_steps(importance_weighted_steps(model, images, k, seed, device))


def measure(
    mu: np.ndarray,
    logvar: np.ndarray,
    *,
    model=None,
    images: np.ndarray | None = None,
    k: int = DEFAULT_K,
    seed: int = 0,
    device: str | torch.device = "cpu",
    mi_points: int = MI_POINTS,
    prior_samples: int = PRIOR_SAMPLES,
    likelihood: LikelihoodEstimate | None = None,
) -> Health:
    """The health of a model from its data's (N, D) mu and logvar; with a model and uint8 images
    (a subset of the data: the caller picks n), its IWAE and ELBO estimates as well (or the
    `likelihood` a caller estimated a step at a time with importance_weighted_steps)."""
    if len(mu) == 0:
        raise ValueError("no data points: nothing to measure")
    act = activity(mu)
    mi, used = mutual_information(mu, logvar, mi_points, seed)
    lv = np.asarray(logvar, np.float64)
    if likelihood is None and model is not None and images is not None and len(images):
        likelihood = importance_weighted(model, images, k, seed, device)
    return Health(
        n_points=len(mu),
        activity=act,
        kl_per_dim=kl_per_dim(mu, logvar),
        mutual_information=mi,
        mi_points=used,
        mu_mean=np.asarray(mu, np.float64).mean(0),
        aggregate_var=act + np.exp(lv).mean(0),
        gaussian_kl=gaussian_fit_kl(mu, logvar),
        holes=prior_holes(mu, np.flatnonzero(act > ACTIVE_THRESHOLD), prior_samples, seed),
        likelihood=likelihood,
    )


def pick_images(n_points: int, n: int, seed: int = 0) -> np.ndarray:
    """The sorted indices of a seeded sample of n of n_points data points (all of them when n >= n_points)."""
    if n >= n_points:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, n, replace=False))
