"""A user's own model: a class in their .py file with its weights, a TorchScript archive, or a
whole pickled model. Each runs code from a file, so each needs the user's trust (sources.py);
weights alone are read with safetensors or torch.load(weights_only=True), which runs nothing.
All come back as an AdaptedModel (adapter.py) meeting the model contract.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
import warnings
import zipfile
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import nn

from explorer_models.adapter import AdaptedModel
from explorer_models.atomic import printable, problem
from explorer_models.checkpoint import check_fit, tensors_hash
from explorer_models.config import MAX_PARAMETERS
from explorer_models.contract import DEFAULT_LIKELIHOOD, Likelihood, ModelInfo, likelihood_of
from explorer_models.errors import CheckpointError, ModelSpecError
from explorer_models.probing import probe
from explorer_models.sources import ModelSource, TrustRequired, file_sha256, require_trust
from explorer_models.user_code import import_user_file, read_source, running_from, user_class

_LEGACY_TORCH_MAGIC = bytes.fromhex("8a0a6cfc9c46f9206aa85019")  # pickle's LONG1 of torch's magic number
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")


def load_user_class(path: Path, class_name: str | None, source: ModelSource) -> AdaptedModel:
    """FILE.py:ClassName built with --model-args, given --weights, adapted."""
    if class_name is None:
        from explorer_models.user_code import candidate_classes

        offered = candidate_classes(path)
        example = offered[0] if offered else "ClassName"
        raise ModelSpecError(f"{printable(path)}: name the class too, as --model {path}:{example}")
    kwargs = _model_args(source.model_args)
    if source.weights:
        _check_weights_file(Path(source.weights).expanduser())
    code = read_source(path)  # read once: these bytes are hashed for trust, and these run
    digest = hashlib.sha256(code).hexdigest()
    if not (source.trusted or digest in source.trusted_files):
        raise TrustRequired(path, "a Python file", digest)
    name = f"{printable(path)}:{class_name}"
    with running_from(path):
        cls = user_class(import_user_file(path, code), path, class_name)
        _check_size(cls, kwargs, name)
        module = _build(cls, kwargs, name)
        if not isinstance(module, nn.Module):
            raise ModelSpecError(f"{name}: {class_name} is not a torch.nn.Module")
        if source.weights:
            _load_weights(module, Path(source.weights).expanduser(), source, name)
        return adapt(module, name, source, hashlib.sha256(code + class_name.encode()).hexdigest(), display=class_name)


def _build(cls, kwargs: dict, name: str) -> nn.Module:
    try:
        return cls(**kwargs)
    except BaseException as e:  # the user's constructor may raise anything, SystemExit too
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ModelSpecError(
            f"{name}: building {cls.__name__}{_signature(cls)} with --model-args {json.dumps(kwargs)} failed: "
            f"{type(e).__name__}: {e}"
        ) from None


def _check_size(cls, kwargs: dict, name: str) -> None:
    """Refuse a class of more than MAX_PARAMETERS weights before they take memory: built once on
    torch's meta device (shapes, no storage). A constructor that cannot run there (it reads a
    file, calls numpy) is built for real, and adapt() counts afterwards."""
    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outline = cls(**kwargs)
        parameters = sum(p.numel() for p in outline.parameters()) if isinstance(outline, nn.Module) else 0
    except BaseException as e:  # SystemExit too: _build says what the constructor does for real
        if isinstance(e, KeyboardInterrupt):
            raise
        return
    if parameters > MAX_PARAMETERS:
        raise ModelSpecError(f"{name}: {parameters:,} weights, more than the {MAX_PARAMETERS:,} this version loads")


def load_pytorch_file(path: Path, source: ModelSource) -> AdaptedModel:
    """A .pt/.pth/.ts/.pkl given as the model: a TorchScript archive or a pickled module (both
    run code: trust), or weights alone (answered with how to name their class)."""
    name = printable(path)
    _check_weights_file(path)
    if _is_torchscript(path):
        require_trust(source, path, "a TorchScript archive")
        check_zip(path)
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.10+, and still loads
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", FutureWarning)  # newer torch says it so
                module = torch.jit.load(str(path), map_location="cpu")
        except Exception as e:
            raise ModelSpecError(f"{name}: not a readable TorchScript archive ({said(e)})") from None
        for method in ("encode", "decode"):
            if not hasattr(module, method):
                raise ModelSpecError(
                    f"{name}: the TorchScript archive has no {method}() method; export it with "
                    f"@torch.jit.export on encode and decode before torch.jit.script"
                )
        return adapt(module, name, source, file_sha256(path), display=path.stem)
    loaded = _load_maybe_trusted(path, source, "a pickled PyTorch file holding Python objects")
    if isinstance(loaded, nn.Module):
        return adapt(loaded, name, source, file_sha256(path), display=type(loaded).__name__)
    if isinstance(loaded, dict):
        raise ModelSpecError(
            f"{name}: holds weights only (a state dict of {len(loaded)} entries); name the class they belong to: "
            f"--model your_model.py:ClassName --weights {path}"
        )
    raise ModelSpecError(f"{name}: holds a {type(loaded).__name__}, not a model")


def adapt(module: nn.Module, name: str, source: ModelSource, digest: str, display: str) -> AdaptedModel:
    """Probe `module`'s conventions and wrap it, in eval mode on the CPU."""
    for method in ("encode", "decode"):
        if not callable(getattr(module, method, None)):
            raise ModelSpecError(f"{name}: has no {method}() method; the explorer calls encode(x) and decode(z)")
    if (parameters := sum(p.numel() for p in module.parameters())) > MAX_PARAMETERS:
        raise ModelSpecError(f"{name}: {parameters:,} weights, more than the {MAX_PARAMETERS:,} this version loads")
    module = module.cpu().eval()
    conventions = probe(module, name, source.image_shape, source.encoder_output, source.decoder_output)
    # the weights as they are now (a class opened without --weights has its random initial ones)
    # and how they are read: both change what the encodings are, and this hash keys their cache
    digest = tensors_hash(f"{digest}|{conventions.describe()}", module.state_dict())
    info = ModelInfo(name=display, content_hash=digest, source=source.spec, options=source.options())
    return AdaptedModel(module, conventions, info, _likelihood(module, conventions.decoder_output, name)).eval()


def _likelihood(module: nn.Module, decoder_output: str, name: str) -> Likelihood:
    """The module's own declaration; else Bernoulli for a logits decoder (trained with binary
    cross-entropy, as a rule); else the contract's default."""
    if getattr(module, "likelihood", None) is not None:
        try:
            return likelihood_of(module)
        except ModelSpecError as e:
            raise ModelSpecError(f"{name}: {e}") from None
    return Likelihood("bernoulli") if decoder_output == "logits" else DEFAULT_LIKELIHOOD


def _model_args(text: str) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ModelSpecError(f"--model-args: not valid JSON ({e}); give an object, e.g. '{{\"z_dim\": 16}}'") from None
    if not isinstance(value, dict):
        raise ModelSpecError(f"--model-args: a JSON object of keyword arguments, not a {type(value).__name__}")
    return value


def _signature(cls) -> str:
    try:
        return str(inspect.signature(cls))
    except (TypeError, ValueError):
        return "(...)"


# -- weights --------------------------------------------------------------------------------
def _check_weights_file(path: Path) -> None:
    try:
        if not path.exists():
            raise CheckpointError(f"{printable(path)}: no such file")
        if not path.is_file():
            raise CheckpointError(f"{printable(path)}: not a regular file")
    except OSError as e:
        raise CheckpointError(f"{printable(path)}: cannot be read ({problem(e)})") from e


def _torch_load(path: Path, weights_only: bool):
    check_zip(path)
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: nothing a user can act on
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=weights_only)
    except pickle.UnpicklingError:
        if weights_only:
            raise
        raise CheckpointError(f"{printable(path)}: not a readable PyTorch file") from None
    except (ImportError, TypeError) as e:  # a pickled model whose class cannot be found
        raise CheckpointError(f"{printable(path)}: its pickled objects cannot be rebuilt here ({e})") from e
    except Exception as e:  # a damaged file fails deep in torch's readers, in many ways
        raise CheckpointError(
            f"{printable(path)}: not a readable PyTorch file, it may be truncated or damaged ({said(e)})"
        ) from None


def said(e: BaseException) -> str:
    """An exception as one line: its type and the first line of its message (torch's run long)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


def check_zip(path: Path) -> None:
    """torch.save's and TorchScript's files are zips, and torch reads them without checking
    their CRCs: a damaged byte would load as a silently different weight."""
    try:
        if not zipfile.is_zipfile(path):
            return
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except Exception as e:  # zlib.error, BadZipFile, EOFError, an unknown compression: all damage
        raise CheckpointError(f"{printable(path)}: a damaged zip archive ({said(e)})") from None
    if bad is not None:
        raise CheckpointError(f"{printable(path)}: damaged: its member {bad!r} fails its checksum")


def _load_maybe_trusted(path: Path, source: ModelSource, what: str):
    """torch.load with weights_only=True, which builds tensors and plain containers only; a file
    holding other Python objects, or a plain pickle (not torch.save's format), is unpickled in
    full only when the user trusted it."""
    if _is_plain_pickle(path):
        require_trust(source, path, what)
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception as e:  # a damaged pickle fails in many ways, and a trusted one may raise anything
            raise CheckpointError(f"{printable(path)}: not a readable pickle ({type(e).__name__}: {e})") from e
    try:
        return _torch_load(path, weights_only=True)
    except pickle.UnpicklingError:
        pass
    require_trust(source, path, what)
    return _torch_load(path, weights_only=False)


def _is_plain_pickle(path: Path) -> bool:
    """A pickle written by pickle.dump (protocol 2 or later), not by torch.save: torch's zip
    format begins "PK", its legacy format with the pickled magic number 0x1950a86a20f9469cfc6c."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head[:1] == b"\x80" and head[2:14] != _LEGACY_TORCH_MAGIC


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips with a code/ folder; torch.save's zips have none."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n for n in z.namelist()[:10_000])
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def read_weights(path: Path, source: ModelSource) -> dict[str, torch.Tensor]:
    """The tensors in a .safetensors or .pt/.pth file: a state dict, or one inside a training
    checkpoint's dict (under "state_dict", "model_state_dict", ...)."""
    if path.suffix.lower() == ".safetensors":
        try:
            return safetensors.torch.load_file(str(path))
        except (safetensors.SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{printable(path)}: not a readable .safetensors file ({e})") from e
    loaded = _load_maybe_trusted(path, source, "a weights file holding pickled Python objects")
    if isinstance(loaded, nn.Module):
        loaded = loaded.state_dict()
    for key in STATE_DICT_KEYS:
        inner = loaded.get(key) if isinstance(loaded, dict) else None
        if isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            loaded = inner
            break
    if not isinstance(loaded, dict) or not loaded or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{printable(path)}: holds no state dict of tensors ({type(loaded).__name__})")
    return loaded


def _load_weights(module: nn.Module, path: Path, source: ModelSource, name: str) -> None:
    tensors = read_weights(path, source)
    expected = module.state_dict()
    tensors = _strip_prefix(tensors, expected)
    try:
        check_fit(path, expected, tensors, f"{name}({source.model_args or ''})")
    except CheckpointError as e:  # most often: the class built with other arguments than it was trained with
        hint = f"; were they saved from {type(module).__name__}{_signature(type(module))} with other arguments? give "
        raise CheckpointError(f"{e}{hint}them as --model-args '{{\"name\": value}}'") from None
    odd = [k for k, t in tensors.items() if t.layout != torch.strided or t.is_meta or t.is_complex()]
    if odd:
        raise CheckpointError(f"{printable(path)}: tensors that are not plain numbers in memory: {', '.join(odd[:4])}")
    try:
        module.load_state_dict(tensors, strict=True)
    except (RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{printable(path)}: the weights cannot be loaded into {name}: {said(e)}") from None


def _strip_prefix(tensors: dict[str, torch.Tensor], expected: dict) -> dict[str, torch.Tensor]:
    """Weights saved from a wrapper (DataParallel's "module.", Lightning's "model.") under the
    names the bare module uses, when that is what makes them match."""
    if set(tensors) == set(expected):
        return tensors
    for prefix in ("module.", "model.", "vae.", "net."):
        if all(k.startswith(prefix) for k in tensors):
            stripped = {k[len(prefix) :]: v for k, v in tensors.items()}
            if set(stripped) == set(expected):
                return stripped
    return tensors
