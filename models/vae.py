"""The Gaussian-encoder VAE shared by our architectures; it meets the model contract.

The contract itself (LatentModel, ModelInfo, Likelihood) lives in explorer_models.contract and is
re-exported here, where most code imports it from.

The ELBO per image is E_q[log p(x|z)] - KL(q(z|x) || N(0, I)); training minimises
recon + beta * KL, where recon = -log p(x|z) summed over pixels, in nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from explorer_models.config import VAEConfig
from explorer_models.contract import LatentModel, Likelihood, ModelInfo, gaussian_nll, kl_to_standard_normal

__all__ = [
    "LOGVAR_RANGE",
    "VAE",
    "ElboTerms",
    "LatentModel",
    "Likelihood",
    "ModelInfo",
    "decode_images",
    "images_to_tensor",
    "kl_to_standard_normal",
    "tensor_to_images",
]

# Keep exp(logvar) finite when an encoder is pushed to extremes.
LOGVAR_RANGE = (-20.0, 10.0)


@dataclass
class ElboTerms:
    """Per-image terms, each of shape (B,)."""

    recon: torch.Tensor  # -log p(x|z), nats
    kl: torch.Tensor  # KL(q(z|x) || p(z)), nats

    @property
    def elbo(self) -> torch.Tensor:
        return -(self.recon + self.kl)


def images_to_tensor(images: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 (B, H, W, C) images -> float (B, C, H, W) in [0, 1], the contract's input, on
    `device`. The bytes travel as uint8 (a quarter of float's) and are converted there: on a GPU
    that is several times faster than converting on the host and copying floats."""
    if device is not None and torch.device(device).type == "cuda":
        # through page-locked memory: the copy to the GPU runs at full speed, and asynchronously
        x = torch.empty(np.shape(images), dtype=torch.uint8, pin_memory=True)
        np.copyto(x.numpy(), images, casting="same_kind")
        x = x.to(device, non_blocking=True)
    else:
        # np.array copies: the source may be a read-only memory map, which torch will not wrap.
        x = torch.from_numpy(np.array(images, dtype=np.uint8))
        if device is not None:
            x = x.to(device)
    return x.permute(0, 3, 1, 2).float().div_(255)


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """float (B, C, H, W) in [0, 1] -> uint8 (B, H, W, C), rounded to nearest."""
    x = x.detach().clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


DECODE_CHUNK = 16  # latents per decoder batch: about 30 ms on one CPU core for the bundled model


def decode_images(model: LatentModel, latents: np.ndarray, device: torch.device | str = "cpu") -> np.ndarray:
    """(B, D) latents -> (B, H, W, C) uint8 images, in batches of DECODE_CHUNK. The window's
    worker decodes a strip a batch per step, the CLI all at once, both in these same batches: a
    decoder's arithmetic can differ with the batch it is given, and a figure must have the same
    pixels from either."""
    z = np.ascontiguousarray(np.atleast_2d(latents), np.float32)
    parts = [_decode_batch(model, z[i : i + DECODE_CHUNK], device) for i in range(0, len(z), DECODE_CHUNK)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


@torch.no_grad()
def _decode_batch(model: LatentModel, z: np.ndarray, device: torch.device | str) -> np.ndarray:
    return tensor_to_images(model.decode(torch.from_numpy(z).to(device)))


class VAE(nn.Module):
    """Subclasses build `self.encoder` (x -> (B, 2D)) and `self.decoder` (z -> logits (B, C, H, W))."""

    encoder: nn.Module
    decoder: nn.Module

    def __init__(self, config: VAEConfig, info: ModelInfo | None = None):
        super().__init__()
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = config.image_shape
        self.info = info or ModelInfo()
        if config.likelihood == "gaussian":
            # One decoder std for all pixels: learned (a calibrated "sigma-VAE" decoder), or
            # fixed by the config (a parameter all the same, so checkpoints keep one layout).
            fixed = config.decoder_sigma > 0
            start = math.log(config.decoder_sigma if fixed else 0.1)
            self.log_sigma = nn.Parameter(torch.tensor(start), requires_grad=not fixed)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    @property
    def likelihood(self) -> Likelihood:
        """The p(x|z) this model declares through the contract (its config's, with the learned
        sigma for a Gaussian): what evaluation computes recon with, from decode(z)."""
        if self.config.likelihood == "bernoulli":
            return Likelihood("bernoulli")
        return Likelihood("gaussian", sigma=math.exp(self.log_sigma.detach().item()))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def neg_log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, summed over pixels: the training loss's form of
        `self.likelihood` (from the logits, for stable Bernoulli gradients; with the learnable sigma)."""
        if self.config.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        return gaussian_nll(x, torch.sigmoid(logits), self.log_sigma)

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ElboTerms:
        """One-sample estimate of the ELBO terms (reparameterised, so it trains)."""
        mu, logvar = self.encode(x)
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + noise * torch.exp(0.5 * logvar)
        return ElboTerms(
            recon=self.neg_log_likelihood(x, self.decode_logits(z)), kl=kl_to_standard_normal(mu, logvar).sum(1)
        )

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
