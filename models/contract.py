"""The model contract: what the explorer sees of any model, ours or a user's.

  encode(x) -> (mu, logvar)   x: (B, C, H, W) floats in [0, 1]; mu, logvar: (B, D), q(z|x) = N(mu, exp(logvar))
  decode(z) -> x_mean         (B, D) -> (B, C, H, W) in [0, 1], the mean of p(x|z)
  latent_dim, image_shape, info (name, label names, training facts, content hash)
  likelihood                  optional: the p(x|z) the model was trained with (see below)

Nothing else is called. The per-image ELBO terms are computed from these alone
(explorer_models.evaluation): recon = -log p(x|z) from decode(z) and the declared likelihood, and
KL(q(z|x) || N(0, I)) from (mu, logvar).

Declaring a likelihood: give the model an attribute (or property) `likelihood` that is

  "bernoulli"                     p(x|z) = prod Bernoulli(x; x_mean), the cross-entropy with x in [0, 1]
  "gaussian"                      p(x|z) = prod N(x; x_mean, sigma^2), sigma = DEFAULT_SIGMA
  Likelihood("gaussian", sigma=s) the same with your fixed sigma (for a model trained on MSE, any s
                                  scales recon without changing its ranking)
  Likelihood("bernoulli")         the same as "bernoulli"

A model that declares nothing gets DEFAULT_LIKELIHOOD, a Gaussian with sigma 0.1: on colour
images such as our faces, a Bernoulli recon is almost all the entropy of the image's own pixel
values (the cross-entropy of a perfect reconstruction of a mid-grey pixel is still log 2), so
it ranks images by how grey they are, not by how well they are reconstructed; a Gaussian's recon
is the squared error scaled, plus a constant, so it ranks them by reconstruction error, and its
nats are on the scale of our own (learned-sigma Gaussian) model's. 0.1 is 10% of the pixel
range, the decoder std our own Gaussian VAE starts training from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

from explorer_models.errors import ModelSpecError

LIKELIHOOD_KINDS = ("bernoulli", "gaussian")
DEFAULT_SIGMA = 0.1
_LOG_2PI = math.log(2 * math.pi)


@dataclass
class ModelInfo:
    """What we know about a model besides its weights."""

    name: str = "untitled"
    label_names: tuple[str, ...] = ()
    training: dict = field(default_factory=dict)
    content_hash: str = ""  # sha256 of config + weights; keys caches of its encodings
    source: str = ""  # the spec or path it was loaded from
    options: dict = field(default_factory=dict)  # the rest of its ModelSource (weights, ...): to reopen it

    def command_line(self) -> str:
        """The spec with its options, as after --model: `x.py:VAE --weights w.pt` (sidecars, files)."""
        from explorer_models.sources import describe

        return describe(self.source, self.options)


@runtime_checkable
class LatentModel(Protocol):
    latent_dim: int
    image_shape: tuple[int, int, int]
    info: ModelInfo

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Likelihood:
    """p(x|z) given its mean x_mean = decode(z): "bernoulli", or "gaussian" with a fixed sigma."""

    kind: str = "gaussian"
    sigma: float | None = None  # gaussian only; None means DEFAULT_SIGMA

    def __post_init__(self) -> None:
        if self.kind not in LIKELIHOOD_KINDS:
            raise ValueError(f"likelihood {self.kind!r} is not one of {', '.join(LIKELIHOOD_KINDS)}")
        if self.kind == "bernoulli":
            if self.sigma is not None:
                raise ValueError("a Bernoulli likelihood has no sigma")
            return
        sigma = DEFAULT_SIGMA if self.sigma is None else float(self.sigma)
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"a Gaussian likelihood's sigma must be a finite number > 0, not {self.sigma}")
        object.__setattr__(self, "sigma", sigma)

    def neg_log_likelihood(self, x: torch.Tensor, x_mean: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, summed over pixels, in nats: shape (B,)."""
        if self.kind == "bernoulli":
            return bernoulli_nll(x, x_mean)
        return gaussian_nll(x, x_mean, math.log(self.sigma))

    def describe(self) -> str:
        return "Bernoulli" if self.kind == "bernoulli" else f"Gaussian, sigma {self.sigma:g}"


DEFAULT_LIKELIHOOD = Likelihood("gaussian", DEFAULT_SIGMA)


def likelihood_of(model: object) -> Likelihood:
    """The likelihood `model` declares in its `likelihood` attribute, or DEFAULT_LIKELIHOOD."""
    declared = getattr(model, "likelihood", None)
    if declared is None:
        return DEFAULT_LIKELIHOOD
    if isinstance(declared, Likelihood):
        return declared
    if isinstance(declared, str):
        try:
            return Likelihood(declared.lower())
        except ValueError as e:
            raise ModelSpecError(f"{_name(model)}: {e}") from None
    raise ModelSpecError(
        f"{_name(model)}: its `likelihood` attribute is {declared!r}; vae-explorer reads it as the model's "
        f"p(x|z): 'bernoulli', 'gaussian' or explorer_models.contract.Likelihood('gaussian', sigma=...)"
    )


def _name(model: object) -> str:
    info = getattr(model, "info", None)
    return f"model {info.name!r}" if isinstance(info, ModelInfo) else f"model {type(model).__name__}"


def _float(x: torch.Tensor, x_mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """At least float32 for both (half precision would turn the clamping below coarse)."""
    dtype = torch.promote_types(x_mean.dtype, torch.float32)
    return x.to(dtype), x_mean.to(dtype)


def bernoulli_nll(x: torch.Tensor, x_mean: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of x in [0, 1] under Bernoulli(x_mean), summed per image, shape (B,).

    x_mean is clamped to [eps, 1 - eps] (eps: the machine epsilon of its dtype, 1.2e-7 in
    float32, the finest step below 1) so a saturated pixel costs at most ~16 nats instead of
    inf. Where the decoder's logits are within about +-15, this equals the cross-entropy
    computed from the logits to float precision.
    """
    x, x_mean = _float(x, x_mean)
    eps = torch.finfo(x_mean.dtype).eps
    p = x_mean.clamp(eps, 1 - eps)
    return -(x * p.log() + (1 - x) * (-p).log1p()).flatten(1).sum(1)


def gaussian_nll(x: torch.Tensor, x_mean: torch.Tensor, log_sigma: float | torch.Tensor) -> torch.Tensor:
    """-log N(x; x_mean, sigma^2) summed per image, shape (B,); log_sigma may be a tensor (it trains)."""
    x, x_mean = _float(x, x_mean)
    sigma_sq = torch.exp(2 * torch.as_tensor(log_sigma, dtype=x_mean.dtype, device=x_mean.device))
    nll = 0.5 * (x - x_mean).pow(2) / sigma_sq + log_sigma + 0.5 * _LOG_2PI
    return nll.flatten(1).sum(1)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per latent dimension, shape (B, D)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)
