"""Our two VAE architectures and the one function that builds either from its config."""

from __future__ import annotations

from math import prod

from torch import nn

from explorer_models.config import VAEConfig
from explorer_models.vae import VAE, ModelInfo


class ConvVAE(VAE):
    """Square 1- or 3-channel images of 32, 64 or 128 px.

    Encoder: stride-2 4x4 convolutions halve the image down to 4x4, then a linear layer
    gives (mu, logvar). Decoder: the mirror image with transposed convolutions.
    """

    def __init__(self, config: VAEConfig, info: ModelInfo | None = None):
        super().__init__(config, info)
        channels, widths, d = config.image_shape[0], config.widths, config.latent_dim
        enc: list[nn.Module] = []
        c_in = channels
        for w in widths:
            enc += [nn.Conv2d(c_in, w, 4, stride=2, padding=1), nn.SiLU()]
            c_in = w
        enc += [nn.Flatten(), nn.Linear(widths[-1] * 16, 2 * d)]
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [nn.Linear(d, widths[-1] * 16), nn.Unflatten(1, (widths[-1], 4, 4))]
        outs = [*list(reversed(widths[:-1])), channels]
        c_in = widths[-1]
        for c_out in outs:
            dec += [nn.SiLU(), nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)]
            c_in = c_out
        self.decoder = nn.Sequential(*dec)


class MLPVAE(VAE):
    """Fully connected VAE for small images such as 28x28 MNIST-like digits."""

    def __init__(self, config: VAEConfig, info: ModelInfo | None = None):
        super().__init__(config, info)
        n_pixels, d = prod(config.image_shape), config.latent_dim
        enc: list[nn.Module] = [nn.Flatten()]
        n_in = n_pixels
        for w in config.widths:
            enc += [nn.Linear(n_in, w), nn.SiLU()]
            n_in = w
        enc.append(nn.Linear(n_in, 2 * d))
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = []
        n_in = d
        for w in reversed(config.widths):
            dec += [nn.Linear(n_in, w), nn.SiLU()]
            n_in = w
        dec += [nn.Linear(n_in, n_pixels), nn.Unflatten(1, config.image_shape)]
        self.decoder = nn.Sequential(*dec)


_ARCHS = {"conv": ConvVAE, "mlp": MLPVAE}


def build_model(config: VAEConfig, info: ModelInfo | None = None) -> VAE:
    return _ARCHS[config.arch](config, info)
