"""The one function that turns a model SPEC into a model: `builtin:NAME` or a file path.

Later formats (a user's .py class, TorchScript, pythae folders) plug in here, each behind an
explicit trust decision; pickled PyTorch files are refused, not opened.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from models.atomic import printable, problem
from models.checkpoint import load_checkpoint
from models.errors import ModelSpecError
from models.vae import VAE

BUILTIN_PREFIX = "builtin:"
BUILTIN_MODELS = {"faces": "faces.safetensors"}
_PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle"}


def builtin_specs() -> list[str]:
    return [BUILTIN_PREFIX + name for name in BUILTIN_MODELS]


def load_model(spec: str | os.PathLike) -> VAE:
    """Load the model a SPEC names, in eval mode on the CPU (the worker moves it)."""
    spec_str = str(spec)
    if spec_str.startswith(BUILTIN_PREFIX):
        name = spec_str[len(BUILTIN_PREFIX) :]
        if name not in BUILTIN_MODELS:
            raise ModelSpecError(f"unknown built-in model {spec_str!r}; available: {', '.join(builtin_specs())}")
        weights = resources.files("models") / "weights" / BUILTIN_MODELS[name]
        with ExitStack() as stack:  # as_file copies out of a zip install when needed
            return load_checkpoint(stack.enter_context(resources.as_file(weights)), source=spec_str)

    if not spec_str.strip():
        raise ModelSpecError(
            f"no model given (an empty model SPEC, as --model ''); give {' or '.join(builtin_specs())} "
            f"or a .safetensors path"
        )
    path = Path(spec_str).expanduser()
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        raise ModelSpecError(
            f"{path}: PyTorch pickle files ({path.suffix}) can run arbitrary code when loaded, so "
            f"vae-explorer does not open them; if the weights fit our conv or mlp VAE, load them into "
            f"models.build_model(models.VAEConfig(...)) and write a .safetensors with models.save_checkpoint, "
            f"or train one of ours on your images with `vae-explorer train --data FOLDER` "
            f"(opening your own model classes is planned)"
        )
    try:
        exists = path.exists()
    except (OSError, ValueError) as e:  # a folder on the way that may not be searched, a name too long
        raise ModelSpecError(f"{printable(path)}: cannot be read ({problem(e)})") from e
    if not exists:
        raise ModelSpecError(
            f"{path}: no such file (a model SPEC is {' or '.join(builtin_specs())} or a .safetensors path)"
        )
    return load_checkpoint(path, source=spec_str)
