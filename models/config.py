"""The architecture description a checkpoint carries, enough to rebuild the network."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from explorer_models import schema as S

ARCHS = ("conv", "mlp")
LIKELIHOODS = ("bernoulli", "gaussian")
CONV_SIZES = (32, 64, 128)
# Square sizes `vae-explorer train` offers an MLP (it takes any shape): below 8 px is hardly an
# image, and above 128 px its first layer alone has over 25 M weights, where a conv VAE fits.
MLP_SIZES = range(8, 129)

# What a config may ask for at most (docs/reliability.md): far beyond what this tool trains,
# yet no checkpoint header can make loading allocate without bound. The weights a config
# implies are also checked against the file's own tensors before anything is built.
MAX_CHANNELS = 4
MAX_IMAGE_SIDE = 1024
MAX_LATENT_DIM = 4096
MAX_WIDTH = 16_384
MAX_LAYERS = 16
MAX_PARAMETERS = 500_000_000  # 2 GB of float32 weights

CONFIG_SCHEMA = S.obj(
    {
        "arch": S.text(choices=ARCHS),
        "image_shape": S.list_of(S.integer(1, MAX_IMAGE_SIDE), 3, 3, as_tuple=True),
        "latent_dim": S.integer(1, MAX_LATENT_DIM),
        "beta": S.number(0, 1e6),
        "likelihood": S.text(choices=LIKELIHOODS),
        "widths": S.list_of(S.integer(1, MAX_WIDTH), 0, MAX_LAYERS, as_tuple=True),
        "decoder_sigma": S.number(0, 1),
    },
    required=("arch", "image_shape"),
    extra=False,
)

# Default widths: conv channels per stride-2 stage (one stage per halving down to 4x4),
# MLP hidden sizes from the input side.
_CONV_DEFAULT = {32: (32, 64, 128), 64: (32, 64, 128, 256), 128: (32, 64, 128, 256, 256)}
_MLP_DEFAULT = (512, 256)


@dataclass(frozen=True)
class VAEConfig:
    arch: str
    image_shape: tuple[int, int, int]  # (C, H, W)
    latent_dim: int = 16
    beta: float = 1.0
    likelihood: str = "gaussian"
    widths: tuple[int, ...] = ()  # () picks the default for the arch and image size
    # A Gaussian decoder's pixel std: 0 learns it (a sigma-VAE); a fixed value weighs the
    # reconstruction against the KL term once and for all (beta then means what it says).
    decoder_sigma: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))
        object.__setattr__(self, "widths", tuple(int(v) for v in self.widths) or self._default_widths())
        self.validate()

    def _default_widths(self) -> tuple[int, ...]:
        if self.arch == "conv":
            return _CONV_DEFAULT.get(self.image_shape[-1], ())
        return _MLP_DEFAULT

    def validate(self) -> None:
        """Raise ValueError naming the first field that is wrong."""
        if self.arch not in ARCHS:
            raise ValueError(f"arch {self.arch!r} is not one of {', '.join(ARCHS)}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood {self.likelihood!r} is not one of {', '.join(LIKELIHOODS)}")
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape {self.image_shape} is not (channels, height, width)")
        if self.image_shape[0] > MAX_CHANNELS or max(self.image_shape[1:]) > MAX_IMAGE_SIDE:
            raise ValueError(
                f"image_shape {self.image_shape} is larger than {MAX_CHANNELS} channels of "
                f"{MAX_IMAGE_SIDE} x {MAX_IMAGE_SIDE} px"
            )
        c, h, w = self.image_shape
        if self.arch == "conv":
            if c not in (1, 3) or h != w or h not in CONV_SIZES:
                raise ValueError(
                    f"the conv VAE takes square 1- or 3-channel images of "
                    f"{', '.join(map(str, CONV_SIZES))} px, not {self.image_shape}"
                )
            if len(self.widths) != self.conv_stages:
                raise ValueError(f"a {h} px conv VAE needs {self.conv_stages} widths, got {self.widths}")
        if not 1 <= self.latent_dim <= MAX_LATENT_DIM:
            raise ValueError(f"latent_dim {self.latent_dim} is not in 1..{MAX_LATENT_DIM}")
        if not (math.isfinite(self.decoder_sigma) and 0 <= self.decoder_sigma <= 1):
            raise ValueError(f"decoder_sigma {self.decoder_sigma} must be 0 (learned) or a pixel std up to 1")
        if self.decoder_sigma and self.likelihood != "gaussian":
            raise ValueError("decoder_sigma applies to a gaussian likelihood only")
        if not (math.isfinite(self.beta) and self.beta >= 0):  # 0 is a plain (noisy) autoencoder
            raise ValueError(f"beta {self.beta} must be a finite number >= 0")
        if not self.widths or min(self.widths) < 1 or max(self.widths) > MAX_WIDTH or len(self.widths) > MAX_LAYERS:
            raise ValueError(f"widths {self.widths} must be 1 to {MAX_LAYERS} layers of 1 to {MAX_WIDTH:,} units")

    @property
    def conv_stages(self) -> int:
        """Stride-2 stages from the image size down to 4x4."""
        return max(self.image_shape[-1].bit_length() - 3, 0)

    def to_json(self) -> str:
        fields = asdict(self)
        if not self.decoder_sigma:  # learned, as before the field: older checkpoints keep their content hash
            del fields["decoder_sigma"]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> VAEConfig:
        """A config from its JSON form; ValueError (a SchemaError) naming the first field that
        has the wrong type or is out of range."""
        return cls(**CONFIG_SCHEMA(data, "config"))
