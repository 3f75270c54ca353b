"""VAE models, the model contract, checkpoints and training. No Qt; usable from a notebook."""

from explorer_models.architectures import MLPVAE, ConvVAE, build_model
from explorer_models.checkpoint import load_checkpoint, save_checkpoint
from explorer_models.config import VAEConfig
from explorer_models.contract import DEFAULT_LIKELIHOOD, Likelihood, likelihood_of
from explorer_models.device import describe_device, resolve_device
from explorer_models.errors import CheckpointError, ModelSpecError, TrainingError, UserInputError
from explorer_models.loading import builtin_specs, load_model
from explorer_models.vae import (
    VAE,
    ElboTerms,
    LatentModel,
    ModelInfo,
    decode_images,
    images_to_tensor,
    tensor_to_images,
)

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
