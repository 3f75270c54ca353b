"""The one function that turns a model SPEC (or a ModelSource) into a model.

  builtin:NAME                  a bundled checkpoint
  FILE.safetensors              our checkpoint (never runs code)
  FILE.py:ClassName             a user's class, with --weights (needs trust: the file runs)
  FILE.pt / .pth / .ts / .pkl   a TorchScript archive or a whole pickled model (needs trust);
                                a file of weights alone is answered with how to name its class
  FOLDER                        a pythae model folder (model_config.json, model.pt)

Every format comes back as a LatentModel, in eval mode on the CPU (the worker moves it).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from explorer_models.atomic import printable, problem
from explorer_models.checkpoint import load_checkpoint
from explorer_models.contract import LatentModel
from explorer_models.errors import ModelSpecError
from explorer_models.sources import ModelSource, as_source

BUILTIN_PREFIX = "builtin:"
# Two models of one recipe but beta (docs/bundled-model.md): the default, whose prior samples
# look like faces, and a beta-1 one to compare it with (File > Compare With Model…).
BUILTIN_MODELS = {"faces": "faces.safetensors", "faces-beta1": "faces-beta1.safetensors"}
PYTORCH_SUFFIXES = {".pt", ".pth", ".ts", ".ckpt", ".bin", ".pkl", ".pickle", ".zip"}
SPEC_HELP = (
    "builtin:faces, builtin:faces-beta1, a .safetensors checkpoint, FILE.py:ClassName, a TorchScript .pt or a "
    "pythae folder"
)


def builtin_specs() -> list[str]:
    return [BUILTIN_PREFIX + name for name in BUILTIN_MODELS]


def load_model(spec: str | os.PathLike | ModelSource) -> LatentModel:
    """Load the model a SPEC or ModelSource names, in eval mode on the CPU."""
    source = as_source(spec)
    spec_str = source.spec
    if spec_str.startswith(BUILTIN_PREFIX):
        name = spec_str[len(BUILTIN_PREFIX) :]
        if name not in BUILTIN_MODELS:
            raise ModelSpecError(f"unknown built-in model {spec_str!r}; available: {', '.join(builtin_specs())}")
        weights = resources.files("explorer_models") / "weights" / BUILTIN_MODELS[name]
        with ExitStack() as stack:  # as_file copies out of a zip install when needed
            return load_checkpoint(stack.enter_context(resources.as_file(weights)), source=spec_str)
    if not spec_str.strip():
        raise ModelSpecError(f"no model given (an empty model SPEC, as --model ''); give {SPEC_HELP}")

    path_text, class_name = split_class_spec(spec_str)
    path = Path(path_text).expanduser()
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as e:  # a folder on the way that may not be searched, a name too long
        raise ModelSpecError(f"{printable(path)}: cannot be read ({problem(e)})") from e
    if not exists:
        raise ModelSpecError(f"{printable(path)}: no such file (a model SPEC is {SPEC_HELP})")
    if class_name is not None or path.suffix.lower() == ".py":
        from explorer_models.user_modules import load_user_class

        return load_user_class(path, class_name, source)
    if is_dir:
        from explorer_models.pythae_folder import load_pythae_folder

        return load_pythae_folder(path, source)
    if path.suffix.lower() in PYTORCH_SUFFIXES:
        from explorer_models.user_modules import load_pytorch_file

        return load_pytorch_file(path, source)
    return load_checkpoint(path, source=spec_str)


def split_class_spec(spec: str) -> tuple[str, str | None]:
    """'dir/file.py:Class' -> ('dir/file.py', 'Class'); anything else -> (spec, None). A Windows
    drive letter ('C:\\models\\x.py') is not a class."""
    head, sep, tail = spec.rpartition(":")
    if sep and head.lower().endswith(".py") and tail.isidentifier():
        return head, tail
    return spec, None
