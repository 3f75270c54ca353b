"""Any module with encode and decode methods, seen through the model contract.

Tutorial VAEs differ in small ways that the explorer bridges without the user editing code:
  input      (B, C, H, W) or flattened (B, C*H*W); in [0, 1], or [-1, 1] when the decoder's
             output is (a tanh decoder is trained on images scaled to [-1, 1])
  encode()   (mu, logvar), (mu, log-sigma), (mu, sigma), (z, mu, logvar), one tensor of mu and
             logvar concatenated, a dict ({"mu": ..., "logvar": ...} and the usual spellings),
             or a torch Normal
  decode()   probabilities in [0, 1], logits, or values in [-1, 1]; flattened or not; a tensor,
             the first of a tuple, a dict's reconstruction, or a distribution (its mean)

`probing.probe` finds which by one test forward pass on a few images, checks every output's
shape and values, and returns the Conventions; `AdaptedModel` applies them. `info` shows
Conventions.describe(), so the user sees what was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from explorer_models.contract import Likelihood, ModelInfo
from explorer_models.errors import ModelSpecError
from explorer_models.vae import LOGVAR_RANGE

MU_KEYS = ("mu", "mean", "loc", "z_mean", "z_mu", "embedding", "mu_z")
SCALE_KEYS = {  # a dict's second entry, and what it holds
    **dict.fromkeys(("logvar", "log_var", "z_log_var", "log_variance", "log_covariance", "logvar_z"), "logvar"),
    **dict.fromkeys(("log_sigma", "logsigma", "log_std", "logstd", "log_scale", "z_log_sigma"), "logsigma"),
    **dict.fromkeys(("sigma", "std", "scale", "z_sigma"), "sigma"),
}
RECONSTRUCTION_KEYS = ("reconstruction", "recon", "x_recon", "x_hat", "mean", "probs", "logits")
PROBE_IMAGES = 8
PROBE_LATENTS = 32


@dataclass(frozen=True)
class Conventions:
    image_shape: tuple[int, int, int]
    latent_dim: int
    flat_input: bool
    encoder_output: str  # "mu-logvar", "mu-logsigma", "mu-sigma", "concat", "normal", "dict:MU,SCALE", "triple:I"
    decoder_output: str  # "probabilities", "logits", "signed"
    notes: tuple[str, ...] = ()  # what the user should check: a reading that could be wrong

    @property
    def signed_input(self) -> bool:
        return self.decoder_output == "signed"

    def describe(self) -> str:
        c, h, w = self.image_shape
        encoder = {
            "mu-logvar": "encode() -> (mu, log-variance)",
            "mu-logsigma": "encode() -> (mu, log-sigma)",
            "mu-sigma": "encode() -> (mu, sigma)",
            "concat": "encode() -> one tensor [mu | log-variance]",
            "normal": "encode() -> a torch Normal",
        }.get(self.encoder_output) or _described_output(self.encoder_output)
        decoder = {
            "probabilities": "decode() -> [0, 1]",
            "logits": "decode() -> logits (sigmoid applied)",
            "signed": "decode() -> [-1, 1] (inputs scaled to [-1, 1] too)",
        }[self.decoder_output]
        shape = f"{'flattened ' if self.flat_input else ''}{c}x{h}x{w} input"
        return f"{shape}; {encoder}; {decoder}" + "".join(f" ({note})" for note in self.notes)


def _described_output(kind: str) -> str:
    if kind.startswith("triple:"):
        names = ["mu", "log-variance"]
        names.insert(int(kind[7:]), "z")
        return f"encode() -> ({', '.join(names)})"
    return "encode() -> dict {{{}}}".format(", ".join(kind[5:].split(",")))


def posterior(out, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) from what encode() returned, read as `kind`."""
    if kind == "normal":
        base = getattr(out, "base_dist", out)  # Independent(Normal(...), 1)
        return base.loc, 2 * torch.log(base.scale)
    if kind.startswith("dict:"):
        mu_key, scale_key = kind[5:].split(",")
        return _from_scale(out[mu_key], out[scale_key], SCALE_KEYS[scale_key])
    if kind == "concat":
        mu, logvar = out.chunk(2, dim=-1)
        return mu, logvar
    if kind.startswith("triple:"):  # (z, mu, logvar) in some order: the two that are not the sample
        mu, logvar = (t for i, t in enumerate(out) if i != int(kind[7:]))
        return mu, logvar
    return _from_scale(out[0], out[1], kind.split("-", 1)[1])


def _from_scale(mu: torch.Tensor, scale: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    if kind == "logvar":
        return mu, scale
    if kind == "logsigma":
        return mu, 2 * scale
    return mu, 2 * torch.log(scale)


def encoder_kind(out, declared: str) -> str:
    """How to read encode()'s output (`declared` is the user's --encoder-output)."""
    if isinstance(out, torch.distributions.Distribution):
        base = getattr(out, "base_dist", out)
        if isinstance(base, torch.distributions.Normal):
            return "normal"
        raise _unreadable(f"encode() returned a {type(out).__name__}; only Normal distributions are read")
    if isinstance(out, Mapping):
        mu_key = next((k for k in MU_KEYS if k in out), None)
        scale_key = next((k for k in SCALE_KEYS if k in out), None)
        if mu_key is None or scale_key is None:
            raise _unreadable(f"encode() returned a dict with keys {', '.join(map(str, list(out)[:8]))}")
        return f"dict:{mu_key},{scale_key}"
    if isinstance(out, torch.Tensor):
        if out.ndim != 2 or out.shape[1] % 2:
            raise _unreadable(f"encode() returned one tensor of shape {tuple(out.shape)}")
        return "concat"
    if isinstance(out, Sequence) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out):
        return "mu-logvar" if declared == "auto" else declared
    if isinstance(out, Sequence) and len(out) == 3 and all(isinstance(t, torch.Tensor) for t in out):
        return "triple"  # (z, mu, logvar): which one is z, probe() finds by encoding twice
    raise _unreadable(f"encode() returned {_shape_of(out)}")


def _unreadable(what: str) -> ModelSpecError:
    return ModelSpecError(
        f"{what}; vae-explorer reads (mu, logvar) (or log-sigma, sigma: --encoder-output), (z, mu, logvar), "
        f"one tensor [mu | logvar], a dict such as {{'mu': ..., 'logvar': ...}} or a torch Normal"
    )


def _shape_of(out) -> str:
    if isinstance(out, torch.Tensor):
        return f"a tensor of shape {tuple(out.shape)}"
    if isinstance(out, tuple | list):
        return f"a {type(out).__name__} of {len(out)}: ({', '.join(_shape_of(o) for o in out[:4])})"
    return f"a {type(out).__name__}"


def reconstruction(out) -> torch.Tensor:
    """The decoder's image from what decode() returned."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, torch.distributions.Distribution):
        return out.mean
    if isinstance(out, Mapping):
        for key in RECONSTRUCTION_KEYS:
            if isinstance(out.get(key), torch.Tensor):
                return out[key] if key != "logits" else torch.sigmoid(out[key])
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise ModelSpecError(f"decode() returned {_shape_of(out)}; vae-explorer reads a tensor of images")


class AdaptedModel(nn.Module):
    """A user's module wearing the model contract. It holds the module, so .to(device) and
    .eval() reach its weights; `encode` and `decode` are the only methods of it that run."""

    def __init__(self, module: nn.Module, conventions: Conventions, info: ModelInfo, likelihood: Likelihood):
        super().__init__()
        self.module = module
        self.conventions = conventions
        self.latent_dim = conventions.latent_dim
        self.image_shape = conventions.image_shape
        self.info = info
        self.likelihood = likelihood
        self.adapter_description = conventions.describe()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.conventions
        x = x * 2 - 1 if c.signed_input else x
        mu, logvar = posterior(self._call("encode", x.flatten(1) if c.flat_input else x), c.encoder_output)
        return mu.float().reshape(len(x), -1), logvar.float().reshape(len(x), -1).clamp(*LOGVAR_RANGE)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = reconstruction(self._call("decode", z)).float().reshape(len(z), *self.image_shape)
        if self.conventions.decoder_output == "logits":
            return torch.sigmoid(out)
        if self.conventions.decoder_output == "signed":
            return (out + 1) / 2
        return out

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _call(self, method: str, x: torch.Tensor):
        """The module's method; a SystemExit (or another BaseException) of its code becomes an
        error of this model, never the end of the thread that ran it."""
        try:
            return getattr(self.module, method)(x)
        except Exception:
            raise
        except BaseException as e:
            reraise_interrupt(e)
            raise ModelSpecError(f"{self.info.source}: {method}() raised {type(e).__name__}: {e}") from None


def reraise_interrupt(e: BaseException) -> None:
    """Ctrl-C stops the explorer; any other exception of a user's code is that code's failure."""
    if isinstance(e, KeyboardInterrupt):
        raise e
