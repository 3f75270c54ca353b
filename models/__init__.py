"""VAE models, the model contract, checkpoints and training. No Qt; usable from a notebook."""

from models.architectures import ConvVAE, MLPVAE, build_model
from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import VAEConfig
from models.device import describe_device, resolve_device
from models.errors import CheckpointError, ModelSpecError, TrainingError, UserInputError
from models.loading import builtin_specs, load_model
from models.vae import VAE, ElboTerms, LatentModel, ModelInfo, decode_images, images_to_tensor, tensor_to_images

__all__ = [
    "VAE", "ConvVAE", "MLPVAE", "VAEConfig", "ModelInfo", "LatentModel", "ElboTerms",
    "build_model", "load_model", "builtin_specs", "load_checkpoint", "save_checkpoint",
    "resolve_device", "describe_device", "decode_images", "images_to_tensor", "tensor_to_images",
    "UserInputError", "CheckpointError", "ModelSpecError", "TrainingError",
]
