"""What names a model to open (ModelSource), and the one rule for files that can run code.

A model SPEC alone names our checkpoints (`builtin:faces`, `file.safetensors`). A user's own
class needs more: `file.py:ClassName` with its weights, constructor arguments and, where it
cannot be inferred, the image shape. Formats that run code when opened (a user's .py file, a
TorchScript archive, a pickled model or pythae's pickled networks) open only when `trusted`
is set, and the CLI sets it only from --trust-code, the window only from its trust dialog.
Without it they raise TrustRequired, which carries the file's hash so the window can ask once
and remember the answer for that exact file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from explorer_models.errors import ModelSpecError

IN_MEMORY_PREFIX = "python:"  # names what came from a Python session (explorer.show), not from a file
ENCODER_OUTPUTS = ("auto", "mu-logvar", "mu-logsigma", "mu-sigma")
DECODER_OUTPUTS = ("auto", "probabilities", "logits", "signed")


@dataclass(frozen=True)
class ModelSource:
    """A model to open: the SPEC and, for a user's own class, how to build and read it."""

    spec: str
    weights: str = ""  # .safetensors, or .pt/.pth read with torch.load(weights_only=True)
    model_args: str = ""  # a JSON object: the class's keyword arguments
    image_shape: tuple[int, int, int] | None = None  # (C, H, W) when it cannot be inferred
    encoder_output: str = "auto"  # what a 2-tuple from encode() holds (ENCODER_OUTPUTS)
    decoder_output: str = "auto"  # what decode() returns (DECODER_OUTPUTS)
    trusted: bool = False  # --trust-code: every file named here may run code
    # the window's answers: the sha256 of each file the user let run code, these exact bytes only
    trusted_files: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for field, value, choices in (
            ("--encoder-output", self.encoder_output, ENCODER_OUTPUTS),
            ("--decoder-output", self.decoder_output, DECODER_OUTPUTS),
        ):
            if value not in choices:
                raise ModelSpecError(f"{field} {value!r}: choose one of {', '.join(choices)}")

    def trust(self) -> ModelSource:
        """Every file of this source may run code (the command line's --trust-code)."""
        return replace(self, trusted=True)

    def trust_file(self, sha256: str) -> ModelSource:
        """The file with these exact bytes may run code (the window's trust dialog)."""
        return replace(self, trusted_files=self.trusted_files | {sha256})

    def options(self) -> dict:
        """What besides the spec opens this model again, as JSON-ready values (never the trust)."""
        out: dict = {}
        if self.weights:
            out["weights"] = self.weights
        if self.model_args:
            out["model_args"] = self.model_args
        if self.image_shape:
            out["image_shape"] = list(self.image_shape)
        for key in ("encoder_output", "decoder_output"):
            if getattr(self, key) != "auto":
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_options(cls, spec: str, options: dict) -> ModelSource:
        """The source options() describes (TypeError for an unknown option; never trusted)."""
        unknown = set(options) - OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown model options: {', '.join(sorted(unknown))}")
        shape = options.get("image_shape")
        return cls(spec, **{**options, "image_shape": tuple(int(v) for v in shape) if shape else None})

    def describe(self) -> str:
        """The SPEC with its options, as a user would type them after --model."""
        return describe(self.spec, self.options())


def describe(spec: str, options: dict) -> str:
    """A model's spec and options as a command line's words: `x.py:VAE --weights w.pt`."""
    words = [spec]
    for key, value in options.items():
        text = ",".join(map(str, value)) if key == "image_shape" else value
        words.append(f"--{key.replace('_', '-')} " + (f"'{text}'" if key == "model_args" else str(text)))
    return " ".join(words)


OPTION_NAMES = {"weights", "model_args", "image_shape", "encoder_output", "decoder_output"}


def as_source(spec: str | os.PathLike | ModelSource) -> ModelSource:
    return spec if isinstance(spec, ModelSource) else ModelSource(str(spec))


class TrustRequired(ModelSpecError):
    """Opening `path` would run code from it; the caller may ask the user and retry trusted."""

    def __init__(self, path: Path, what: str, sha256: str):
        from explorer_models.atomic import printable

        self.path = path
        self.what = what  # "a Python file", "a TorchScript archive", ...
        self.sha256 = sha256
        super().__init__(
            f"{printable(path)}: {what}, which runs code on this computer when it is opened; open it only if you "
            f"trust where it came from: add --trust-code (the command line) or confirm in the window"
        )


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def require_trust(source: ModelSource, path: Path, what: str, also: tuple[Path, ...] = ()) -> str:
    """Raise TrustRequired unless the user trusted this source, or these exact files (their
    hash covers `path` and the files in `also`: every file that would run, so a remembered
    answer never covers a change). Returns the hash."""
    try:
        digest = file_sha256(path)
        if also:
            digest = hashlib.sha256("|".join([digest, *(file_sha256(p) for p in also)]).encode()).hexdigest()
    except OSError:
        digest = ""
    if not (source.trusted or (digest and digest in source.trusted_files)):
        raise TrustRequired(path, what, digest)
    return digest


def parse_image_shape(text: str) -> tuple[int, int, int]:
    """'1,28,28' -> (1, 28, 28), for --image-shape."""
    from explorer_models.config import MAX_CHANNELS, MAX_IMAGE_SIDE

    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3:
        raise ModelSpecError(f"--image-shape {text!r}: give channels,height,width, e.g. 1,28,28 or 3,64,64")
    c, h, w = shape
    if not (1 <= c <= MAX_CHANNELS and 1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
        raise ModelSpecError(
            f"--image-shape {text!r}: channels 1 to {MAX_CHANNELS}, height and width 1 to {MAX_IMAGE_SIDE}"
        )
    return shape  # type: ignore[return-value]
