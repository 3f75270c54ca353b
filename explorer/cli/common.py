"""What the headless commands share: opening a model and its dataset's encodings, checking
data-point indices, and the figure options of `strip` and `grid`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

# explorer.core.space.paths.METHODS and explorer_models.sources' choices, not imported: they pull in
# numpy, scipy and torch, and --help needs only these names (tests/cli keeps them equal)
METHODS = ("lerp", "slerp", "gauss")
ENCODER_OUTPUTS = ("auto", "mu-logvar", "mu-logsigma", "mu-sigma")
DECODER_OUTPUTS = ("auto", "probabilities", "logits", "signed")
MODEL_HELP = (
    "builtin:faces, builtin:faces-beta1, a .safetensors checkpoint, FILE.py:ClassName, a TorchScript .pt or a "
    "pythae folder"
)


def add_model_and_data(
    p: argparse.ArgumentParser,
    data_help: str = "builtin:faces, builtin:faces:test, a folder of images, a .npy / .npz file of images, "
    "or a .npz of precomputed latents (mu, optional logvar, labels)",
) -> None:
    add_model_arguments(p)
    p.add_argument("--data", required=True, metavar="SPEC", help=data_help)
    add_labels_argument(p)
    add_device_argument(p)


def add_labels_argument(p) -> None:
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="a labels file for a folder of images: a CSV (a file-name column, then labels) or CelebA's "
        "list_attr_celeba.txt format (default: labels.csv or list_attr_celeba.txt in the folder)",
    )


def add_model_arguments(p: argparse.ArgumentParser, group=None, default: str | None = None) -> None:
    """--model (into `group`, if given) and what a user's own model class may need (read by
    model_source)."""
    if default is None:
        (group or p).add_argument("--model", required=True, metavar="SPEC", help=MODEL_HELP)
    else:
        (group or p).add_argument("--model", default=default, metavar="SPEC", help=f"{MODEL_HELP} (default {default})")
    own = p.add_argument_group("your own model (--model FILE.py:ClassName, TorchScript, pickles, pythae)")
    own.add_argument("--weights", default="", metavar="FILE", help="its weights: .safetensors, .pt or .pth")
    own.add_argument("--model-args", default="", metavar="JSON", help="keyword arguments for the class, a JSON object")
    own.add_argument(
        "--image-shape", default="", metavar="C,H,W", help="the input image shape, when it cannot be inferred"
    )
    own.add_argument(
        "--encoder-output",
        choices=ENCODER_OUTPUTS,
        default="auto",
        help="what a pair from encode() holds: mu and log-variance (auto), log-sigma or sigma; a dict's "
        "keys say it themselves",
    )
    own.add_argument(
        "--decoder-output",
        choices=DECODER_OUTPUTS,
        default="auto",
        help="what decode() returns: probabilities in [0, 1], logits or signed values in [-1, 1] (auto: measured)",
    )
    own.add_argument(
        "--trust-code",
        action="store_true",
        help="let the model's files run code on this computer (a .py class, TorchScript, a pickle): only for "
        "files you trust",
    )


def model_source(args: argparse.Namespace):
    """The ModelSource the --model options describe."""
    from explorer_models.sources import ModelSource, parse_image_shape

    return ModelSource(
        spec=args.model,
        weights=args.weights,
        model_args=args.model_args,
        image_shape=parse_image_shape(args.image_shape) if args.image_shape else None,
        encoder_output=args.encoder_output,
        decoder_output=args.decoder_output,
        trusted=args.trust_code,
    )


def add_device_argument(p) -> None:
    """--device, checked when a command runs by explorer_models.device.resolve_device, which holds the one
    list of devices (importing it here would pull in torch and slow down --help)."""
    p.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="where the model runs: auto (CUDA, then MPS, then CPU), cpu, cuda or mps",
    )


def check_out(out: str, force: bool) -> Path:
    """--out, if a file may be written there (no folder, its folder exists, new unless --force)."""
    from explorer_models.atomic import check_writable

    return check_writable(out, force, label="--out ")


def warn_skipped(dataset) -> None:
    """Name the files the dataset skipped (unreadable images: the first ten, then a count), and
    what else the user should know of it (its cache folder cannot be written)."""
    from explorer.core.data.base import skipped_lines

    warn(skipped_lines(dataset.problems))
    warn(dataset.warnings)


def warn(warnings) -> None:
    for text in warnings:
        print(f"warning: {text}", file=sys.stderr)


@dataclass
class Opened:
    model: object
    dataset: object
    encodings: object
    device: object


def open_encoded(args: argparse.Namespace) -> Opened:
    """The model on its device, the dataset at its size, and the encodings (from the cache the
    window shares, or encoded now with a progress bar on stderr and cached; a file of
    precomputed latents brings its own, of the model's latent size)."""
    from tqdm import tqdm

    from explorer.core.data import check_spec, load_for_model
    from explorer.core.steps import run_steps
    from explorer.core.store.encoding import encode_dataset_steps, model_cache_key
    from explorer_models import load_model, resolve_device

    check_spec(args.data)  # a typo fails before the model loads
    device = resolve_device(args.device)
    model = load_model(model_source(args)).to(device)
    dataset = load_for_model(args.data, model.image_shape, model.latent_dim, labels=args.labels)
    warn_skipped(dataset)
    key = model_cache_key(model, dataset.fingerprint)
    with tqdm(total=len(dataset), unit="img", desc="encoding", file=sys.stderr, disable=None, leave=False) as bar:
        encoded = run_steps(encode_dataset_steps(model, dataset, device, key), lambda p: bar.update(p.done - bar.n))
    warn(encoded.warnings)
    return Opened(model, dataset, encoded.encodings, device)


def name_list(text: str) -> tuple[str, ...]:
    """'a, b' -> ('a', 'b'), for options such as --balance-by."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def data_index(option: str, value: int, dataset) -> int:
    from explorer_models.errors import UserInputError

    n = len(dataset)
    if not 0 <= value < n:
        raise UserInputError(f"{option} {value}: no such data point; {dataset.spec} has {n:,} points (0 to {n - 1:,})")
    return value


# -- figures (strip, grid) --------------------------------------------------------------------
def add_figure_options(
    p: argparse.ArgumentParser, originals: bool, method: bool = True, frames: str = "one frame per image"
) -> argparse._ArgumentGroup:
    """--method (a path's), --out, --force, the layout and the animation options; the layout
    group, for a command's own layout options."""
    if method:
        p.add_argument(
            "--method",
            choices=METHODS,
            default="slerp",
            help="lerp, slerp (along the sphere, White 2017; default) or gauss (Gaussian-CDF lerp)",
        )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help=f"FILE.png (the figure), FILE.gif or FILE.apng (an animation, {frames}); "
        "a sidecar FILE.json records how to rebuild it",
    )
    p.add_argument("--force", action="store_true", help="replace FILE (and its sidecar) if they exist")
    look = p.add_argument_group("layout")
    look.add_argument("--scale", type=int, default=1, help="each image pixel as SCALE x SCALE pixels (default 1)")
    look.add_argument("--padding", type=int, default=2, help="pixels between images (default 2)")
    look.add_argument("--background", default="white", metavar="COLOUR", help="#rrggbb, r,g,b or a name")
    look.add_argument("--captions", action="store_true", help="a title line and each image's value")
    if originals:
        look.add_argument("--columns", type=int, default=0, help="wrap the strip into rows of this many")
        look.add_argument(
            "--originals", action="store_true", help="put the data images of the end points beside the decoded ends"
        )
    anim = p.add_argument_group("animation (.gif, .apng)")
    anim.add_argument("--duration", type=int, default=150, metavar="MS", help="per frame (default 150)")
    anim.add_argument("--pingpong", action="store_true", help="play forward, then back")
    return look


# the option behind each figure setting an error message names first
_FIGURE_OPTIONS = {
    "rows": "--size",
    "columns": "--size / --columns",
    "steps": "--steps",
    "sweep range": "--range",
    "padding": "--padding",
    "scale": "--scale",
    "frame duration": "--duration",
    "method": "--method",
}


def figure_spec(args: argparse.Namespace, **kind):
    from explorer.core.figures.compose import Layout, parse_colour
    from explorer.core.figures.export import Animation
    from explorer.core.figures.figure import FigureSpec
    from explorer_models.errors import UserInputError

    try:
        background = parse_colour(args.background)
    except UserInputError as e:
        raise UserInputError(f"--background: {e}") from e
    layout = Layout(columns=getattr(args, "columns", 0), padding=args.padding, scale=args.scale, captions=args.captions)
    try:
        return FigureSpec(
            method=args.method,
            originals=getattr(args, "originals", False),
            layout=replace(layout, background=background),
            animation=Animation(args.duration, args.pingpong),
            **kind,
        ).check()
    except UserInputError as e:
        text = str(e)
        found = [(text.find(word), option) for word, option in _FIGURE_OPTIONS.items() if word in text]
        raise UserInputError(f"{min(found)[1]}: {text}" if found else text) from e


def write_figure(args: argparse.Namespace, opened: Opened, figure) -> int:
    """Decode the figure's latents in one batch, write the file and its sidecar, report."""
    from explorer.core.data import NO_IMAGE, IndexedImages, has_images
    from explorer.core.figures import figure as F
    from explorer.core.space.support import SupportMeter
    from explorer_models import decode_images

    decoded = decode_images(opened.model, figure.latents, opened.device)
    support = SupportMeter(opened.encodings.mu)(figure.latents)
    ds = opened.dataset
    if getattr(args, "originals", False) and not has_images(ds):
        warn([f"{NO_IMAGE}: --originals shows a grey placeholder for each data point"])
    info = opened.model.info
    provenance = F.Provenance(info.command_line(), info.content_hash, ds.spec, ds.fingerprint)
    out = F.export(args.out, figure, decoded, provenance, IndexedImages(ds), support, force=args.force)
    print(f"wrote {out} ({len(figure.latents)} images: {figure.title()})")
    print(f"  data support: {support.describe()}")
    return 0


def at_least(low: int):
    """An argparse type: a whole number >= low (its error says so)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    parse.__name__ = "int"
    return parse


def add_iwae_options(p: argparse.ArgumentParser, k: int, n: int) -> None:
    """--iwae-k and --iwae-n: the log-likelihood bound's importance samples and images."""
    p.add_argument(
        "--iwae-k",
        type=at_least(1),
        default=k,
        metavar="K",
        help=f"importance samples per image in the log-likelihood bound (1 gives the ELBO; default {k})",
    )
    p.add_argument(
        "--iwae-n",
        type=at_least(0),
        default=n,
        metavar="N",
        help=f"images (a seeded sample of the data) in the log-likelihood bound; 0 skips it (default {n})",
    )
