"""A pythae model folder (model_config.json, model.pt, optional encoder.pkl / decoder.pkl), as
pythae's `model.save(folder)` writes it, seen through the model contract.

pythae's own AutoModel.load_from_folder unpickles model.pt and the networks. Here pythae's config
class reads the JSON, pythae's model class builds its default networks from it, and model.pt is
read with torch.load(weights_only=True): nothing from the folder runs. Only a folder with the
user's own networks (encoder.pkl, decoder.pkl, cloudpickled) runs code, after the user trusted it.

Only pythae models whose q(z|x) is a diagonal Gaussian (encoder `embedding` + `log_covariance`)
under a N(0, I) prior are read: the contract's (mu, logvar) and KL mean exactly that for them.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import torch
from torch import nn

from explorer_models.atomic import printable, problem
from explorer_models.config import MAX_CHANNELS, MAX_IMAGE_SIDE, MAX_LATENT_DIM, MAX_PARAMETERS
from explorer_models.contract import Likelihood, ModelInfo
from explorer_models.errors import CheckpointError, ModelSpecError
from explorer_models.sources import ModelSource, file_sha256, require_trust
from explorer_models.user_modules import check_zip, said
from explorer_models.vae import LOGVAR_RANGE

CONFIG, WEIGHTS = "model_config.json", "model.pt"
NETWORKS = ("encoder", "decoder")  # each pickled as NAME.pkl when the user gave pythae their own
MAX_CONFIG_BYTES = 1_000_000
INSTALL = 'pip install "vae-explorer[pythae]"'
HOLDS = f"{CONFIG} and {WEIGHTS} (with encoder.pkl / decoder.pkl for custom networks), as pythae's model.save() writes"
PROBE_IMAGES, PROBE_LATENTS = 4, 16


@dataclass(frozen=True)
class Family:
    model_class: str  # in pythae.models
    recon_from_config: bool = True  # False: trained on another reconstruction term than the config's bce / mse


GAUSSIAN_VAES = {
    "VAEConfig": Family("VAE"),
    "BetaVAEConfig": Family("BetaVAE"),
    "BetaTCVAEConfig": Family("BetaTCVAE"),
    "DisentangledBetaVAEConfig": Family("DisentangledBetaVAE"),
    "FactorVAEConfig": Family("FactorVAE"),
    "INFOVAE_MMD_Config": Family("INFOVAE_MMD"),
    "IWAEConfig": Family("IWAE"),
    "CIWAEConfig": Family("CIWAE"),
    "MIWAEConfig": Family("MIWAE"),
    "PIWAEConfig": Family("PIWAE"),
    "MSSSIM_VAEConfig": Family("MSSSIM_VAE", recon_from_config=False),  # MS-SSIM
    "VAEGANConfig": Family("VAEGAN", recon_from_config=False),  # a discriminator's features
}
_POINT = "an autoencoder whose encoder gives a point, not a Gaussian (no log_covariance)"
_FLOW = "a normalizing flow or density model, not a VAE"
OTHER_MODELS = {
    **dict.fromkeys(
        ("AEConfig", "WAE_MMD_Config", "RAE_L2_Config", "RAE_GP_Config", "Adversarial_AE_Config", "VQVAEConfig"), _POINT
    ),
    "SVAEConfig": "its latents lie on a hypersphere (von Mises-Fisher), not in R^D under N(0, I)",
    "PoincareVAEConfig": "its latents lie in the Poincaré ball, not in R^D under N(0, I)",
    "VAMPConfig": "its prior is a VampPrior mixture, not N(0, I)",
    "HVAEConfig": "its latents move along Hamiltonian flows between the encoder and the decoder",
    "RHVAEConfig": "its latents move along Riemannian Hamiltonian flows under a learned metric",
    "VAE_IAF_Config": "inverse autoregressive flows transform the encoder's Gaussian before decoding",
    "VAE_LinNF_Config": "linear normalizing flows transform the encoder's Gaussian before decoding",
    **dict.fromkeys(("MAFConfig", "IAFConfig", "PlanarFlowConfig", "RadialFlowConfig", "MADEConfig"), _FLOW),
    "PixelCNNConfig": _FLOW,
}


class PythaeModel(nn.Module):
    """pythae's encoder and decoder wearing the model contract; only those two networks are kept."""

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, input_dim, image_shape, latent_dim: int, info: ModelInfo
    ):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.input_dim = tuple(input_dim)  # what pythae's networks take: (C, H, W), (H, W) or (N,)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.info = info
        self.decoder_output = "probabilities"  # or "logits", "signed": what the decoder gives, found by _probe
        self.adapter_description = "pythae model"

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x * 2 - 1 if self.decoder_output == "signed" else x  # a [-1, 1] decoder was trained on [-1, 1] images
        out = self.encoder(x.reshape(len(x), *self.input_dim))
        mu, logvar = out["embedding"], out["log_covariance"]
        return mu.float().reshape(len(x), -1), logvar.float().reshape(len(x), -1).clamp(*LOGVAR_RANGE)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        x = self.decoder(z)["reconstruction"].float().reshape(len(z), *self.image_shape)
        if self.decoder_output == "logits":
            return torch.sigmoid(x)
        if self.decoder_output == "signed":
            return ((x + 1) / 2).clamp(0, 1)
        return x.clamp(0, 1)  # a no-op for a sigmoid; the user's choice for a linear output

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def load_pythae_folder(path: Path, source: ModelSource) -> PythaeModel:
    """The pythae model saved in folder `path`, in eval mode on the CPU."""
    config_file, weights_file = path / CONFIG, path / WEIGHTS
    if not config_file.is_file():
        raise ModelSpecError(_not_a_model_folder(path))
    raw = _read_json(config_file)
    pythae_models = _import_pythae(path)
    family, config = _build_config(config_file, raw, pythae_models)
    image_shape = _image_shape(config_file, config.input_dim, source.image_shape)
    if not 1 <= config.latent_dim <= MAX_LATENT_DIM:
        raise ModelSpecError(f"{printable(config_file)}: latent_dim {config.latent_dim} is not in 1..{MAX_LATENT_DIM}")
    custom = [net for net in NETWORKS if not getattr(config, f"uses_default_{net}")]
    if "encoder" not in custom and math.prod(image_shape) * 1040 > MAX_PARAMETERS:  # pythae's MLP: ~1040 per pixel
        raise ModelSpecError(
            f"{printable(config_file)}: input_dim {tuple(config.input_dim)} is too large for pythae's default MLP "
            f"networks (over {MAX_PARAMETERS:,} parameters)"
        )
    if not weights_file.is_file():
        raise CheckpointError(f"{printable(weights_file)}: no such file; a pythae model folder holds {HOLDS}")
    for net in custom:
        if not (path / f"{net}.pkl").is_file():
            raise ModelSpecError(
                f"{printable(path / f'{net}.pkl')}: no such file; {CONFIG} says the model has a custom {net}, "
                f"which pythae saves there"
            )
    if custom:
        pickles = [path / f"{net}.pkl" for net in custom]
        require_trust(
            source, pickles[0], "a pythae folder with pickled networks (encoder.pkl, decoder.pkl)", tuple(pickles[1:])
        )
    state = _read_weights(weights_file)
    pickled = {net: _unpickle(pythae_models, family, path, net) for net in custom}
    model_class = getattr(pythae_models, family.model_class)
    try:
        with torch.random.fork_rng(devices=[]):  # the default networks' random init must not move the caller's seed
            pythae_model = model_class(config, encoder=pickled.get("encoder"), decoder=pickled.get("decoder"))
    except Exception as e:
        raise ModelSpecError(f"{printable(config_file)}: pythae cannot build {family.model_class} from it: {e}") from e
    for net in NETWORKS:
        _load_part(getattr(pythae_model, net), net, state, weights_file)

    info = ModelInfo(name=_name(path), source=source.spec, options=source.options())
    model = PythaeModel(
        pythae_model.encoder, pythae_model.decoder, config.input_dim, image_shape, config.latent_dim, info
    )
    if family.recon_from_config and getattr(config, "reconstruction_loss", "") in ("bce", "mse"):
        model.likelihood = "bernoulli" if config.reconstruction_loss == "bce" else Likelihood("gaussian")
    model.eval()
    model.decoder_output = "probabilities" if source.decoder_output == "auto" else source.decoder_output
    model.decoder_output = _probe(model, source.decoder_output, path, custom)
    nets = ", ".join(f"{net}.pkl" if net in custom else f"default {net}" for net in NETWORKS)
    output = {"probabilities": "[0, 1]", "logits": "logits (sigmoid applied)", "signed": "[-1, 1] (inputs scaled)"}
    model.adapter_description = (
        f"pythae {family.model_class} ({CONFIG}; {nets}), encoder embedding + log_covariance, "
        f"decoder reconstruction in {output[model.decoder_output]}"
    )
    info.content_hash = _content_hash(path, custom, model)
    return model


def _name(path: Path) -> str:
    """The folder's name; with its parent's for the folders pythae's trainer writes (final_model,
    checkpoint_epoch_N), which say nothing alone."""
    path = path.resolve()
    trainer = path.name == "final_model" or path.name.startswith("checkpoint_epoch_")
    return printable(f"{path.parent.name}/{path.name}" if trainer else path.name or path)


def _not_a_model_folder(path: Path) -> str:
    """What a model folder must hold, and the pythae folders just below `path` (a trainer's
    output folder holds its final_model and checkpoint_epoch_N folders)."""
    try:
        below = list(islice(path.glob(f"*/{CONFIG}"), 3)) or list(islice(path.glob(f"*/*/{CONFIG}"), 3))
    except OSError:
        below = []
    hint = f"; the model folders in it: {', '.join(printable(p.parent) for p in below)}" if below else ""
    return f"{printable(path)}: a folder, but not a pythae model folder, which holds {HOLDS}{hint}"


def _read_json(file: Path) -> dict:
    try:
        if file.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelSpecError(f"{printable(file)}: over {MAX_CONFIG_BYTES:,} bytes, too large for a model config")
        raw = json.loads(file.read_bytes())
    except OSError as e:
        raise ModelSpecError(f"{printable(file)}: cannot be read ({problem(e)})") from e
    except ValueError as e:  # not UTF-8 or not JSON
        raise ModelSpecError(f"{printable(file)}: not valid JSON ({e})") from None
    except RecursionError:
        raise ModelSpecError(f"{printable(file)}: not a model config (JSON nested too deeply)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ModelSpecError(
            f'{printable(file)}: not a pythae model config (a JSON object with a "name", e.g. "VAEConfig")'
        )
    return raw


def _import_pythae(path: Path):
    try:
        import pythae.models
    except ImportError as e:
        missing = getattr(e, "name", "") in ("pythae", "pythae.models")
        why = "needs the pythae package" if missing else f"needs pythae, which fails to import ({e})"
        raise ModelSpecError(f"{printable(path)}: a pythae model folder; reading it {why}: {INSTALL}") from None
    except Exception as e:  # a pythae too old or new for its own dependencies (pydantic)
        raise ModelSpecError(f"{printable(path)}: pythae fails to import ({type(e).__name__}: {e}): {INSTALL}") from e
    return pythae.models


def _build_config(file: Path, raw: dict, pythae_models):
    name = raw["name"]
    if name in OTHER_MODELS:
        raise ModelSpecError(
            f"{printable(file)}: a pythae {name.removesuffix('Config').rstrip('_')}, {OTHER_MODELS[name]}; "
            f"vae-explorer reads pythae VAEs with a Gaussian encoder and a N(0, I) prior"
        )
    family = GAUSSIAN_VAES.get(name)
    config_class = getattr(pythae_models, name, None)
    if family is None or config_class is None:
        known = ", ".join(n.removesuffix("Config").rstrip("_") for n in GAUSSIAN_VAES)
        raise ModelSpecError(f'{printable(file)}: unknown pythae model "name": {name!r}; vae-explorer reads {known}')
    fields = {k: v for k, v in raw.items() if k != "name"}
    try:
        config = config_class(**fields)
    except (ValueError, TypeError) as e:  # pydantic's ValidationError is a ValueError
        errors = e.errors() if hasattr(e, "errors") else [{"loc": (), "msg": str(e)}]
        what = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}".lstrip(": ") for err in errors[:3])
        raise ModelSpecError(f"{printable(file)}: not a valid {name}: {what}") from None
    if config.input_dim is None:
        raise ModelSpecError(f"{printable(file)}: no input_dim (the image shape, e.g. [1, 28, 28])")
    return family, config


def _image_shape(file: Path, input_dim, declared) -> tuple[int, int, int]:
    """(C, H, W) from pythae's input_dim: (C, H, W), (H, W) grey, or (N,) flattened, read as the
    user's --image-shape or else a square grey or RGB image."""
    dims = tuple(input_dim)
    n = math.prod(dims)
    if len(dims) == 3:
        shape = dims
    elif len(dims) == 2:
        shape = (1, *dims)
    elif len(dims) == 1 and declared:
        shape = tuple(declared)
    elif len(dims) == 1:
        shape = next(((c, s, s) for c in (1, 3) if c * (s := math.isqrt(n // c)) ** 2 == n), None)
    else:
        shape = None
    if shape is None:
        raise ModelSpecError(
            f"{printable(file)}: input_dim {dims} is not an image shape; give it with --image-shape C,H,W"
        )
    if declared and (tuple(declared) != shape or math.prod(shape) != n):
        raise ModelSpecError(f"{printable(file)}: input_dim {dims} does not match --image-shape {tuple(declared)}")
    c, h, w = shape
    if not (1 <= c <= MAX_CHANNELS and 1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
        raise ModelSpecError(
            f"{printable(file)}: input_dim {dims} is not an image of 1 to {MAX_CHANNELS} channels and "
            f"1 to {MAX_IMAGE_SIDE} px a side"
        )
    return shape


def _read_weights(file: Path) -> dict[str, torch.Tensor]:
    check_zip(file)
    try:
        saved = torch.load(file, map_location="cpu", weights_only=True)
    except OSError as e:
        raise CheckpointError(f"{printable(file)}: cannot be read ({problem(e)})") from e
    except pickle.UnpicklingError as e:
        refused = re.search(r"GLOBAL ([\w.]+)", str(e))  # weights_only allows tensors and containers
        if refused is None:
            raise CheckpointError(
                f"{printable(file)}: not a readable PyTorch file; it may be truncated or damaged"
            ) from None
        raise CheckpointError(
            f"{printable(file)}: holds more than weights ({refused[1][:100]}), which vae-explorer does not unpickle; "
            f"pythae saves only a model_state_dict there"
        ) from None
    except Exception as e:  # a truncated zip, a file that is no PyTorch file at all
        raise CheckpointError(
            f"{printable(file)}: not a readable PyTorch file; it may be truncated or damaged ({said(e)})"
        ) from None
    state = saved.get("model_state_dict") if isinstance(saved, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        keys = ", ".join(map(str, list(saved)[:6])) if isinstance(saved, dict) else type(saved).__name__
        raise CheckpointError(f"{printable(file)}: no 'model_state_dict' of tensors, as pythae saves (found {keys})")
    return state


def _unpickle(pythae_models, family: Family, path: Path, net: str) -> nn.Module:
    """The user's network from NAME.pkl, by pythae's own reader (cloudpickle, on the CPU); the caller checked trust."""
    model_class = getattr(pythae_models, family.model_class)
    read = getattr(model_class, f"_load_custom_{net}_from_folder")
    try:
        module = read(str(path))
    except BaseException as e:  # its code may raise anything, SystemExit included
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ModelSpecError(f"{printable(path / f'{net}.pkl')}: unpickling it failed: {type(e).__name__}: {e}") from e
    if not isinstance(module, nn.Module):
        raise ModelSpecError(f"{printable(path / f'{net}.pkl')}: holds a {type(module).__name__}, not a torch module")
    return module


def _load_part(module: nn.Module, net: str, state: dict[str, torch.Tensor], file: Path) -> None:
    """Load `net`'s weights (the `net.` entries of model.pt) strictly; only encoder and decoder
    are needed, so a discriminator or a prior's parameters beside them do not matter."""
    prefix = f"{net}."
    part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    expected = module.state_dict()
    problems = [f"{net}.{k} missing" for k in expected if k not in part]
    problems += [f"{net}.{k} unexpected" for k in part if k not in expected]
    problems += [
        f"{net}.{k} is {tuple(part[k].shape)}, the model's is {tuple(v.shape)}"
        for k, v in expected.items()
        if k in part and part[k].shape != v.shape
    ]
    if problems:
        more = f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""
        raise CheckpointError(f"{printable(file)}: the weights do not match {CONFIG}: {'; '.join(problems[:4])}{more}")
    module.load_state_dict(part, strict=True)


@torch.no_grad()
def _probe(model: PythaeModel, declared: str, path: Path, custom: list[str]) -> str:
    """One pass on a few images and latents: the outputs have pythae's keys and the contract's
    shapes, and the decoder's values tell how to read them. Returns the decoder output kind."""
    where = printable(path / "encoder.pkl") if "encoder" in custom else printable(path)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((PROBE_IMAGES, *model.image_shape), generator=generator)
    try:
        mu, logvar = model.encode(x)
    except Exception as e:
        raise ModelSpecError(
            f"{where}: the encoder fails on {PROBE_IMAGES} images of {model.input_dim} ({type(e).__name__}: {e}); "
            f"pythae's encoders return a ModelOutput with embedding and log_covariance"
        ) from e
    if mu.shape != (PROBE_IMAGES, model.latent_dim) or logvar.shape != mu.shape:
        raise ModelSpecError(
            f"{where}: the encoder gives embedding {tuple(mu.shape)} and log_covariance {tuple(logvar.shape)} for "
            f"{PROBE_IMAGES} images; latent_dim {model.latent_dim} needs ({PROBE_IMAGES}, {model.latent_dim})"
        )
    where = printable(path / "decoder.pkl") if "decoder" in custom else printable(path)
    z = torch.cat([mu, torch.randn((PROBE_LATENTS, model.latent_dim), generator=generator)])
    try:
        out = model.decoder(z)["reconstruction"]
        if out.numel() != len(z) * math.prod(model.image_shape):
            raise ValueError(f"reconstruction of shape {tuple(out.shape)}, not ({len(z)}, {model.image_shape})")
    except Exception as e:
        raise ModelSpecError(
            f"{where}: the decoder fails on {len(z)} latents ({type(e).__name__}: {e}); pythae's decoders return a "
            f"ModelOutput with reconstruction"
        ) from e
    if not torch.isfinite(out).all():
        raise ModelSpecError(f"{where}: the decoder gives NaN or infinite values")
    low, high = out.min().item(), out.max().item()
    if declared != "auto":
        return declared  # the user's --decoder-output; decode() clamps to [0, 1]
    if low >= 0 and high <= 1:
        return "probabilities"
    raise ModelSpecError(
        f"{where}: the decoder gives values from {low:.3g} to {high:.3g}, not in [0, 1] as pythae's own decoders "
        f"(ending in a sigmoid) do; say what they are with --decoder-output logits, --decoder-output signed "
        f"([-1, 1] images) or --decoder-output probabilities (clamped to [0, 1])"
    )


def _content_hash(path: Path, custom: list[str], model: PythaeModel) -> str:
    """sha256 over the config, the weights and the pickled networks used, and how the model reads them."""
    h = hashlib.sha256()
    for name in [CONFIG, WEIGHTS, *(f"{net}.pkl" for net in custom)]:
        h.update(f"{name}\0{file_sha256(path / name)}\n".encode())
    if model.decoder_output != "probabilities" or model.input_dim != model.image_shape:
        h.update(f"decoder_output={model.decoder_output} image_shape={model.image_shape}\n".encode())
    return h.hexdigest()
