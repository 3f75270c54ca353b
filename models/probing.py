"""Finding a user's module's conventions (adapter.py) by one test forward pass on a few
images and latents: the image shape it takes, its inputs (images or flattened), what encode()
and decode() return; every output checked for shape, type and finite values."""

from __future__ import annotations

import math

import torch
from torch import nn

from explorer_models.adapter import (
    PROBE_IMAGES,
    PROBE_LATENTS,
    Conventions,
    encoder_kind,
    posterior,
    reconstruction,
    reraise_interrupt,
)
from explorer_models.config import MAX_LATENT_DIM
from explorer_models.errors import ModelSpecError


def shape_candidates(module: nn.Module, declared: tuple[int, int, int] | None) -> list[tuple[int, int, int]]:
    """Image shapes to try, most likely first: the user's --image-shape alone; else the module's
    own attribute; else what its first layer takes (a Linear's width as a square grey or colour
    image, a Conv2d's channels at the usual sizes)."""
    if declared:
        return [declared]
    shapes = []
    for name in ("image_shape", "img_shape", "input_shape", "input_dim"):
        value = getattr(module, name, None)
        if isinstance(value, tuple | list) and len(value) == 3 and all(isinstance(v, int) and v > 0 for v in value):
            shapes.append(tuple(value))
    for kind, width in _input_layers(module):
        if kind == "Linear":
            for channels in (1, 3, 4):
                side = math.isqrt(width // channels)
                if side > 1 and channels * side * side == width:
                    shapes.append((channels, side, side))
        else:
            shapes += [(width, s, s) for s in (28, 32, 64, 128, 256, 16, 96, 224)]
    return list(dict.fromkeys(shapes))


def _input_layers(module: nn.Module) -> list[tuple[str, int]]:
    """("Conv2d", channels) of the first Conv2d, then ("Linear", features) of every Linear, in
    the order the module holds them (a decoder registered first has Linear(z, ...) first: its
    candidate then fails and the next is tried). TorchScript layers keep their class name in
    `original_name`."""
    found = []
    for m in module.modules():
        kind = type(m).__name__ if isinstance(m, nn.Linear | nn.Conv2d) else getattr(m, "original_name", "")
        weight = getattr(m, "weight", None)
        if kind in ("Linear", "Conv2d") and isinstance(weight, torch.Tensor) and weight.ndim >= 2:
            found.append((kind, int(weight.shape[1])))
    convs = [f for f in found if f[0] == "Conv2d"][:1]
    return convs + [f for f in found if f[0] == "Linear"]


@torch.no_grad()
def probe(
    module: nn.Module,
    name: str,
    image_shape: tuple[int, int, int] | None = None,
    encoder_output: str = "auto",
    decoder_output: str = "auto",
) -> Conventions:
    """Run `module` once on a few images and latents; the conventions its outputs show.
    Raises ModelSpecError naming `name` and what is wrong."""
    candidates = shape_candidates(module, image_shape)
    if not candidates:
        raise ModelSpecError(
            f"{name}: cannot tell the image shape it takes (no image_shape attribute, and no Linear or Conv2d "
            f"layer whose input could be an image); give it with --image-shape C,H,W"
        )
    tried = []
    queue, done = list(candidates), set()
    while queue:
        shape = queue.pop(0)
        done.add(shape)
        for flat in (False, True):
            x = _probe_images(shape)
            try:
                out = module.encode(x.flatten(1) if flat else x)
            except BaseException as e:  # the user's code may raise anything, SystemExit too
                reraise_interrupt(e)
                tried.append(f"{'flattened ' if flat else ''}{'x'.join(map(str, shape))}: {type(e).__name__}: {e}")
                continue
            try:
                return _finish(module, x.flatten(1) if flat else x, shape, flat, out, encoder_output, decoder_output)
            except _OtherShape as other:  # an encoder that takes any size (global pooling): the decoder's
                if other.shape in done or image_shape is not None:
                    raise ModelSpecError(f"{name}: {other}") from None
                queue = [other.shape] + [q for q in queue if q != other.shape]
                break
            except ModelSpecError as e:
                raise ModelSpecError(f"{name}: {e}") from None
    first = tried[0] if tried else ""
    raise ModelSpecError(
        f"{name}: encode() fails on every image shape tried ({len(tried)}, first {first}); "
        f"give the shape with --image-shape C,H,W"
    )


class _OtherShape(ModelSpecError):
    """decode() gives images of another shape than the encoder was probed with."""

    def __init__(self, message: str, shape: tuple[int, int, int]):
        super().__init__(message)
        self.shape = shape


def _probe_images(shape: tuple[int, int, int]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand((PROBE_IMAGES, *shape), generator=generator)


def _real(t, what: str) -> torch.Tensor:
    """`t` if it is a tensor of real numbers with a batch dimension; ModelSpecError otherwise."""
    if not isinstance(t, torch.Tensor):
        raise ModelSpecError(f"{what} is a {type(t).__name__}, not a tensor")
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.uint8)) or t.ndim == 0:
        raise ModelSpecError(f"{what} is a {t.dtype} tensor of shape {tuple(t.shape)}, not real numbers per image")
    return t


def _finish(module, x, shape, flat, out, encoder_output, decoder_output) -> Conventions:
    """The conventions `out` (encode's answer to the probe images `x`) shows, with decode tried
    on its means and on random latents; ModelSpecError saying what is wrong (the caller names the model)."""
    kind = encoder_kind(out, encoder_output)
    if kind == "triple":
        kind = f"triple:{_sample_index(module, x, out)}"
    try:
        mu, logvar = posterior(out, kind)
    except (AttributeError, TypeError, IndexError, KeyError, ValueError, RuntimeError) as e:
        raise ModelSpecError(f"encode() gave what cannot be read as {kind}: {type(e).__name__}: {e}") from None
    mu, logvar = _real(mu, "encode()'s mu"), _real(logvar, "encode()'s spread")
    if mu.ndim > 2 and all(d == 1 for d in mu.shape[2:]):  # a conv encoder's (B, D, 1, 1)
        mu, logvar = mu.flatten(1), logvar.flatten(1)
    if mu.shape != logvar.shape or mu.ndim != 2 or mu.shape[0] != PROBE_IMAGES:
        raise ModelSpecError(
            f"encode() gave mu of shape {tuple(mu.shape)} and its spread of shape {tuple(logvar.shape)} for "
            f"{PROBE_IMAGES} images; both must be ({PROBE_IMAGES}, latent size)"
        )
    latent_dim = mu.shape[1]
    if not 1 <= latent_dim <= MAX_LATENT_DIM:
        raise ModelSpecError(f"encode() gave latents of size {latent_dim}; the explorer takes 1 to {MAX_LATENT_DIM:,}")
    if not (torch.isfinite(mu).all() and torch.isfinite(logvar).all()):
        raise ModelSpecError("encode() gave NaN or infinite values for ordinary images")
    mu = mu.float()
    z = torch.cat([mu, torch.randn((PROBE_LATENTS, latent_dim), generator=torch.Generator().manual_seed(0))])
    try:
        images = _real(reconstruction(module.decode(z)), "decode()'s output")
    except ModelSpecError:
        raise
    except BaseException as e:  # the user's code may raise anything
        reraise_interrupt(e)
        hint = " (if encode() returns z alone, vae-explorer cannot read its posterior)" if kind == "concat" else ""
        raise ModelSpecError(f"decode() fails on latents of size {latent_dim}{hint}: {type(e).__name__}: {e}") from None
    c, h, w = shape
    if images.ndim == 4 and images.shape[0] == len(z) and images.numel() == len(z) * c * h * w:
        shape = tuple(images.shape[1:])  # the decoder's own layout, where it is one
    if images.shape[0] != len(z) or images.numel() != len(z) * c * h * w:
        message = (
            f"decode() gave shape {tuple(images.shape)} for {len(z)} latents; the encoder takes "
            f"{c}x{h}x{w} images, so it must give ({len(z)}, {c}, {h}, {w}) or ({len(z)}, {c * h * w})"
        )
        if images.ndim == 4 and images.shape[0] == len(z) and images.shape[1] in (1, 3, 4):
            raise _OtherShape(message, tuple(images.shape[1:]))
        raise ModelSpecError(message)
    if not torch.isfinite(images.float()).all():
        raise ModelSpecError("decode() gave NaN or infinite values")
    notes = ()
    if kind in ("mu-logvar", "concat") and bool((logvar > 0).all()) and encoder_output == "auto":
        notes = ("its spreads are all above 0: if encode() gives sigma, say --encoder-output mu-sigma",)
    return Conventions(shape, latent_dim, flat, kind, _decoder_kind(images.float(), decoder_output), notes)


def _sample_index(module, x, out) -> int:
    """Which of encode()'s three outputs is the sample z: the one that changes when the same
    images are encoded again (two equal ones: z is mu, and either may be taken for it)."""
    try:
        again = module.encode(x)
    except BaseException as e:
        reraise_interrupt(e)
        raise ModelSpecError(f"encode() fails when called again: {type(e).__name__}: {e}") from None
    changed = [i for i in range(3) if not torch.equal(out[i], again[i])]
    if len(changed) == 1:
        return changed[0]
    if not changed and torch.equal(out[0], out[1]):
        return 0
    raise ModelSpecError(
        "encode() returned three tensors, and vae-explorer cannot tell which is the sample z; "
        "have it return (mu, logvar)"
    )


def _decoder_kind(images: torch.Tensor, declared: str) -> str:
    """What decode()'s values are, read from the probe's outputs: logits go well past the pixel
    range on both sides (real images have dark and light parts); a tanh decoder's [-1, 1] goes
    well below 0; a decoder with no last activation strays a little outside [0, 1], and is
    read as probabilities (clamped). Values never below 0 yet far above 1 are refused."""
    low, high = images.min().item(), images.max().item()
    if low < -3 and high > 1.001:
        measured = "logits"
    elif low < -0.5:
        measured = "signed" if low >= -1.001 and high <= 1.001 else "logits"
    else:
        measured = "probabilities"
    if declared == "auto" and measured == "probabilities" and high > 1.5:
        # never much below 0 yet well above 1: pixel values 0..255, or a ReLU output
        raise ModelSpecError(
            f"decode() gave values from {low:.3g} to {high:.3g}: not probabilities in [0, 1], not [-1, 1] and not "
            f"logits (which go below 0); if they are logits, say so with --decoder-output logits"
        )
    if declared == "auto":
        return measured
    if (declared == "probabilities" and measured != "probabilities") or (declared == "signed" and measured == "logits"):
        raise ModelSpecError(f"--decoder-output {declared}, but decode() gave {low:.3g} to {high:.3g}")
    return declared
