"""`vae-explorer traverse`: a latent traversal (one row per latent dimension, sorted by KL, each
sweeping its dimension from a base latent) written as PNG, GIF or APNG without a window."""

from __future__ import annotations

import argparse
import math

from explorer.cli import common

# explorer.core.figures.traversal's names, not imported: it pulls in numpy and torch, and --help
# needs only these (tests/cli/test_traverse_command.py keeps them equal)
SORTS = ("kl", "index")
RANGES = ("fixed", "sigma", "quantiles")
RANGE_HELP = "sigma:R (base +- R prior sd), fixed:LO,HI (these values), quantiles:Q (the data's Q .. 1-Q)"


def parse_range(text: str) -> dict:
    """'sigma:3' | 'fixed:-3,3' | 'quantiles:0.02' -> TraversalSpec fields (checked there)."""
    kind, _, rest = text.partition(":")
    if kind not in RANGES:
        raise argparse.ArgumentTypeError(f"{text!r}: the range kind must be one of {', '.join(RANGES)} ({RANGE_HELP})")
    try:
        numbers = [float(v) for v in rest.split(",")] if rest else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {rest!r} is not a number or a list of numbers") from None
    need = 2 if kind == "fixed" else 1
    if len(numbers) != need or not all(math.isfinite(v) for v in numbers):
        example = {"fixed": "fixed:-3,3", "sigma": "sigma:3", "quantiles": "quantiles:0.02"}[kind]
        raise argparse.ArgumentTypeError(
            f"{text!r}: {kind} takes {need} finite number{'s' * (need > 1)}, e.g. {example}"
        )
    if kind == "fixed" and numbers[0] == numbers[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: the two ends of a fixed range must differ")
    if kind == "sigma" and numbers[0] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of prior sd must be above 0")
    if kind == "quantiles" and not 0 <= numbers[0] < 0.5:
        raise argparse.ArgumentTypeError(f"{text!r}: the quantile Q must be 0 to below 0.5 (Q .. 1-Q)")
    if kind == "fixed":
        return {"range": kind, "lo": numbers[0], "hi": numbers[1]}
    return {"range": kind, "sigmas" if kind == "sigma" else "quantile": numbers[0]}


def parse_dims(text: str) -> tuple[int, ...] | None:
    """'all' -> None; '0,3,5' -> (0, 3, 5) (each 0 or more, none twice)."""
    if text.strip() == "all":
        return None
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give all or dimension numbers such as 0,3,5") from None
    if any(d < 0 for d in dims):
        raise argparse.ArgumentTypeError(f"{text!r}: dimension numbers are 0 or more")
    if len(set(dims)) != len(dims):
        raise argparse.ArgumentTypeError(f"{text!r}: a dimension is named twice")
    return dims


def parse_base(text: str) -> str | int:
    if text in ("mean", "random"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give mean, random or a data point's index") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p)
    p.add_argument("--dims", type=parse_dims, default=None, metavar="all|I,J,..", help="dimensions shown (default all)")
    p.add_argument("--sort", choices=SORTS, default="kl", help="rows by mean KL, largest first (default), or by index")
    p.add_argument(
        "--range", type=parse_range, default="sigma:3", metavar="KIND:VALUES", help=f"{RANGE_HELP}; default sigma:3"
    )
    p.add_argument("--columns", type=int, default=9, help="values per dimension, 2..32 (default 9)")
    p.add_argument(
        "--base",
        type=parse_base,
        default="mean",
        metavar="mean|random|I",
        help="the latent every row starts from: the data's mean mu (default), a random data point's, or point I's",
    )
    p.add_argument("--seed", type=int, default=0, help="for --base random (default 0)")
    look = common.add_figure_options(p, originals=False, method=False, frames="one frame per column")
    look.add_argument("--no-labels", action="store_true", help="no row labels (dimension, KL, inactive) on the left")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    import numpy as np

    from explorer.core.figures import traversal as T
    from explorer.core.figures.compose import Layout, parse_colour
    from explorer.core.figures.export import Animation, check_target
    from explorer.core.figures.figure import Provenance
    from explorer.core.space.support import SupportMeter
    from explorer_models import decode_images
    from explorer_models.errors import UserInputError

    try:
        background = parse_colour(args.background)
        layout = Layout(padding=args.padding, scale=args.scale, captions=args.captions, background=background).check()
        animation = Animation(args.duration, args.pingpong).check()
    except UserInputError as e:
        option = next((o for o in ("padding", "scale", "duration") if str(e).startswith(o)), "background")
        raise UserInputError(f"--{option}: {e}") from e
    fields = {"dims": args.dims, "sort": args.sort, "columns": args.columns, **args.range}
    try:
        T.TraversalSpec(**fields).check()  # a mistake fails before the model loads
    except T.TraversalError as e:
        raise T.TraversalError(f"--{'columns' if str(e).startswith('columns') else 'range'}: {e}") from e
    check_target(args.out, args.force)  # before any slow work
    opened = common.open_encoded(args)
    enc, ds = opened.encodings, opened.dataset
    if args.base == "mean":
        spec = T.TraversalSpec(**fields)
    else:
        index = int(np.random.default_rng(args.seed).integers(len(ds))) if args.base == "random" else args.base
        spec = T.TraversalSpec(**fields, base=T.POINT, index=common.data_index("--base", index, ds))
    traversal = T.build(spec, enc.mu, enc.logvar)
    decoded = decode_images(opened.model, traversal.latents, opened.device)
    support = SupportMeter(enc.mu)(traversal.latents)
    info = opened.model.info
    provenance = Provenance(info.command_line(), info.content_hash, ds.spec, ds.fingerprint)
    out = T.export(
        args.out,
        traversal,
        decoded,
        provenance,
        layout,
        animation,
        labels=not args.no_labels,
        support=support,
        force=args.force,
    )
    inactive = [r.dim for r in traversal.rows if r.inactive]
    print(f"wrote {out} ({len(traversal.rows)} x {spec.columns} images: {traversal.title()})")
    print(f"  rows: {', '.join(f'z{r.dim}' for r in traversal.rows)}")
    print(f"  inactive (Var(mu) <= {T.ACTIVE_UNIT_VARIANCE:g}): {', '.join(f'z{d}' for d in inactive) or 'none'}")
    print(f"  data support: {support.describe()}")
    return 0
