"""VAE models, the model contract, checkpoints and training. No Qt; usable from a notebook.

The names below are imported when first used (PEP 562): a module that needs only, say,
explorer_models.errors does not pay for torch (a UMAP fit's process, a --help)."""

from __future__ import annotations

import importlib

_WHERE = {
    "MLPVAE": "architectures",
    "ConvVAE": "architectures",
    "build_model": "architectures",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "VAEConfig": "config",
    "DEFAULT_LIKELIHOOD": "contract",
    "Likelihood": "contract",
    "likelihood_of": "contract",
    "describe_device": "device",
    "resolve_device": "device",
    "CheckpointError": "errors",
    "ModelSpecError": "errors",
    "TrainingError": "errors",
    "UserInputError": "errors",
    "builtin_specs": "loading",
    "load_model": "loading",
    "VAE": "vae",
    "ElboTerms": "vae",
    "LatentModel": "vae",
    "ModelInfo": "vae",
    "decode_images": "vae",
    "images_to_tensor": "vae",
    "tensor_to_images": "vae",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value  # found once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "DEFAULT_LIKELIHOOD",
    "MLPVAE",
    "VAE",
    "CheckpointError",
    "ConvVAE",
    "ElboTerms",
    "LatentModel",
    "Likelihood",
    "ModelInfo",
    "ModelSpecError",
    "TrainingError",
    "UserInputError",
    "VAEConfig",
    "build_model",
    "builtin_specs",
    "decode_images",
    "describe_device",
    "images_to_tensor",
    "likelihood_of",
    "load_checkpoint",
    "load_model",
    "resolve_device",
    "save_checkpoint",
    "tensor_to_images",
]
