"""Our checkpoint format: one `.safetensors` file that describes itself.

Header metadata (all strings, as safetensors requires):
  vae_explorer_format  "1"
  config               VAEConfig as JSON (enough to rebuild the network)
  name, label_names    display name; the dataset's label names (JSON list)
  training             training facts (dataset, epochs, final ELBO terms, ...) as JSON
  content_sha256       sha256 of config + every tensor; checked on load, keys encoding caches

Loading never unpickles anything: safetensors holds raw tensors and JSON only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from explorer_models import schema as S
from explorer_models.architectures import build_model
from explorer_models.atomic import printable, problem, write_bytes_atomic
from explorer_models.config import MAX_PARAMETERS, VAEConfig
from explorer_models.errors import CheckpointError
from explorer_models.vae import VAE, ModelInfo

FORMAT_KEY = "vae_explorer_format"
FORMAT_VERSION = 1

# The header's other entries, as `vae-explorer info` and the window read them. Unknown training
# facts are kept (a newer version may record more); known ones must have their type.
_TERMS = S.obj({k: S.number() for k in ("elbo", "recon", "kl", "mse")}, required=("elbo", "recon", "kl"))
TRAINING_SCHEMA = S.obj(
    {
        **{k: S.integer(0) for k in ("batch_size", "epochs", "images")},
        "seed": S.integer(),
        **{k: S.number(0) for k in ("lr", "seconds")},
        "command": S.text(S.MAX_TEXT),
        **{
            k: S.text()
            for k in ("dataset", "dataset_fingerprint", "device", "heldout_dataset", "torch", "vae_explorer")
        },
        "final_train": _TERMS,
        "heldout": _TERMS,
    }
)
LABEL_NAMES_SCHEMA = S.list_of(S.text(), max_len=10_000, as_tuple=True)
NAME_SCHEMA = S.text()


def content_hash(config: VAEConfig, tensors: dict[str, torch.Tensor]) -> str:
    return tensors_hash(config.to_json(), tensors)


def tensors_hash(prefix: str, tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of `prefix` and every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256(prefix.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(model: VAE, path: str | os.PathLike) -> str:
    """Write `model` (weights, config, model.info) to `path` atomically; return its content hash."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    digest = content_hash(model.config, tensors)
    info = model.info
    metadata = {
        FORMAT_KEY: str(FORMAT_VERSION),
        "config": model.config.to_json(),
        "name": info.name,
        "label_names": json.dumps(list(info.label_names)),
        "training": json.dumps(info.training, sort_keys=True),
        "content_sha256": digest,
    }
    write_bytes_atomic(path, safetensors.torch.save(tensors, metadata=metadata))
    info.content_hash = digest
    return digest


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()
    except (OSError, ValueError) as e:  # a folder on the way that may not be searched, a name too long
        raise CheckpointError(f"{printable(path)}: cannot be read ({problem(e)})") from e
    if not exists:
        raise CheckpointError(f"{path}: no such file")
    if is_dir:
        raise CheckpointError(f"{path}: is a folder, not a .safetensors checkpoint file")
    if not is_file:  # a pipe or a device: reading it may never end
        raise CheckpointError(f"{path}: not a regular file (a pipe or a device?), not a .safetensors checkpoint")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (safetensors.SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable .safetensors file, it may be truncated or damaged ({e})") from e
    return metadata, tensors


def _json_field(path: Path, metadata: dict[str, str], key: str, default, spec: S.Spec):
    """Header entry `key` read as JSON and checked against `spec`; CheckpointError naming the
    file and the field otherwise."""
    try:
        value = json.loads(metadata[key]) if key in metadata else default
    except (json.JSONDecodeError, RecursionError) as e:
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise CheckpointError(f"{path}: header entry {key!r} is not valid JSON ({reason})") from e
    try:
        return spec(value, key)
    except S.SchemaError as e:
        raise CheckpointError(f"{path}: invalid header: {e}") from e


def check_fit(path: Path, state: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor], against: str) -> None:
    """CheckpointError naming `path` unless `tensors` are exactly the names and shapes of `state`."""
    expected = {k: tuple(v.shape) for k, v in state.items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    problems = []
    if missing := sorted(set(expected) - set(found)):
        problems.append(f"missing tensors {', '.join(missing[:4])}")
    if extra := sorted(set(found) - set(expected)):
        problems.append(f"unexpected tensors {', '.join(extra[:4])}")
    for k in sorted(set(expected) & set(found)):
        if expected[k] != found[k]:
            problems.append(f"{k} has shape {found[k]}, {against} needs {expected[k]}")
    if problems:
        raise CheckpointError(f"{printable(path)}: the weights do not match {against}: {'; '.join(problems[:4])}")


def load_checkpoint(path: str | os.PathLike, source: str | None = None) -> VAE:
    """Load a checkpoint written by save_checkpoint, in eval mode on the CPU."""
    path = Path(path)
    metadata, tensors = _read(path)
    if FORMAT_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a .safetensors file, but not a vae-explorer checkpoint (its header has no {FORMAT_KEY!r} entry)"
        )
    if metadata[FORMAT_KEY] != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: checkpoint format {metadata[FORMAT_KEY]!r} is not supported "
            f"(this vae-explorer reads format {FORMAT_VERSION})"
        )
    try:
        config = VAEConfig.from_dict(_json_field(path, metadata, "config", {}, lambda value, where: value))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: invalid model config: {e}") from e
    try:
        name = NAME_SCHEMA(metadata.get("name", path.stem), "name")
    except S.SchemaError as e:
        raise CheckpointError(f"{path}: invalid header: {e}") from e
    info = ModelInfo(
        name=name,
        label_names=_json_field(path, metadata, "label_names", [], LABEL_NAMES_SCHEMA),
        training=_json_field(path, metadata, "training", {}, TRAINING_SCHEMA),
        source=source or str(path),
    )
    # the network the config describes, first without memory (torch's meta device): its size
    # and its tensors' shapes are checked against the limits and the file before it is built
    with torch.device("meta"):
        outline = build_model(config, info)
    if (parameters := sum(p.numel() for p in outline.parameters())) > MAX_PARAMETERS:
        raise CheckpointError(
            f"{path}: the model config asks for {parameters:,} weights, "
            f"more than the {MAX_PARAMETERS:,} this version loads"
        )
    check_fit(path, outline.state_dict(), tensors, "the model config")
    model = build_model(config, info)
    digest = content_hash(config, tensors)
    if metadata.get("content_sha256") != digest:
        raise CheckpointError(f"{path}: the weights do not match their recorded checksum; the file is damaged")
    info.content_hash = digest
    model.load_state_dict(tensors, strict=True)
    return model.eval()
