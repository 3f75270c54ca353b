"""Per-image ELBO terms and reconstruction error: the one place they are computed.

Training reports, `vae-explorer info`, and the explorer's encoding cache all use these. They use
only the model contract (explorer_models.contract): encode, decode and the likelihood the model declares
(or the stated default), so a user's model gets the same terms as ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from explorer_models.contract import LatentModel, kl_to_standard_normal, likelihood_of
from explorer_models.vae import images_to_tensor


@torch.no_grad()
def per_image_terms(
    model: LatentModel, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True
) -> dict[str, torch.Tensor]:
    """mu, logvar (B, D); recon = -log p(x|z), kl, and mse of decode(mu) vs x, each (B,).

    sample=True takes one z ~ q(z|x) (the usual ELBO estimate); sample=False takes z = mu,
    which is deterministic and needs one decoder pass instead of two (the explorer's map).
    recon uses the likelihood the model declares (explorer_models.contract.likelihood_of), applied to
    the decoded mean.
    """
    likelihood = likelihood_of(model)
    mu, logvar = model.encode(x)
    mean = model.decode(mu)
    if sample:
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        recon_mean = model.decode(mu + noise * torch.exp(0.5 * logvar))
    else:
        recon_mean = mean
    return {
        "mu": mu,
        "logvar": logvar,
        "recon": likelihood.neg_log_likelihood(x, recon_mean),
        "kl": kl_to_standard_normal(mu, logvar).sum(1),
        "mse": (mean - x).pow(2).flatten(1).mean(1),
    }


def iter_terms(
    model: LatentModel, images: np.ndarray, batch_size: int = 512, device: str | torch.device = "cpu", seed: int = 0
) -> Iterator[dict[str, np.ndarray]]:
    """per_image_terms over uint8 (N, H, W, C) images in batches, as numpy arrays."""
    generator = torch.Generator(device=device).manual_seed(seed)
    for start in range(0, len(images), batch_size):
        x = images_to_tensor(images[start : start + batch_size], device)
        yield {k: v.cpu().numpy() for k, v in per_image_terms(model, x, generator).items()}


def evaluate(
    model: LatentModel, images: np.ndarray, batch_size: int = 512, device: str | torch.device = "cpu", seed: int = 0
) -> dict[str, float]:
    """Mean per-image ELBO, recon, KL (nats) and per-pixel MSE of the mean reconstruction."""
    sums = {"recon": 0.0, "kl": 0.0, "mse": 0.0}
    for terms in iter_terms(model, images, batch_size, device, seed):
        for k in sums:
            sums[k] += float(terms[k].astype(np.float64).sum())
    means = {k: v / len(images) for k, v in sums.items()}
    means["elbo"] = -(means["recon"] + means["kl"])
    return means
