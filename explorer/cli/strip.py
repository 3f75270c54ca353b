"""`vae-explorer strip`: an interpolation strip between data points, or a sweep along an
attribute vector, written as PNG, GIF or APNG without opening a window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.cli import common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p)
    p.add_argument("--from", dest="start", type=int, required=True, metavar="I", help="the first data point")
    p.add_argument("--to", dest="end", type=int, metavar="J", help="the last data point")
    p.add_argument(
        "--via",
        type=int,
        nargs="+",
        action="extend",
        default=[],
        metavar="K",
        help="data points to pass through on the way, in order",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=8,
        help="images per segment, both ends included (a sweep: images in all; 2..64, default 8)",
    )
    p.add_argument(
        "--vector",
        metavar="FILE_OR_LABEL",
        help="sweep along this attribute vector instead: a file saved by `vae-explorer vector` or "
        "the window, or a label of the data (its mean-difference vector)",
    )
    p.add_argument(
        "--range",
        type=float,
        nargs=2,
        default=(-2.0, 2.0),
        metavar=("A", "B"),
        help="the sweep goes from A to B standard deviations along the vector (default -2 2)",
    )
    p.add_argument(
        "--balance-by",
        default="",
        metavar="A,B",
        help="for a label --vector: balance these confounding labels (White 2017)",
    )
    common.add_figure_options(p, originals=True)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer.core.figures import figure as F
    from explorer.core.figures.export import check_target
    from explorer_models.errors import UserInputError

    if (args.end is None) == (args.vector is None):
        raise UserInputError("give --to J (a strip between data points) or --vector V (a sweep), not both")
    if args.vector is not None and args.via:
        raise UserInputError("--via is for strips between data points, not for a --vector sweep")
    if args.end is not None:
        spec = common.figure_spec(args, kind=F.PATH, steps=args.steps)
    else:
        spec = common.figure_spec(
            args, kind=F.SWEEP, steps=args.steps, sweep_from=args.range[0], sweep_to=args.range[1]
        )
    check_target(args.out, args.force)  # before any slow work
    opened = common.open_encoded(args)
    mu, ds = opened.encodings.mu, opened.dataset
    indices = [common.data_index("--from", args.start, ds)]
    indices += [common.data_index("--via", k, ds) for k in args.via]
    if args.end is not None:
        indices.append(common.data_index("--to", args.end, ds))
    keyframes = [F.Keyframe.data_point(mu, i) for i in indices]
    vector = _vector(args, opened) if args.vector is not None else None
    return common.write_figure(args, opened, F.build(spec, keyframes, vector))


def _vector(args: argparse.Namespace, opened: common.Opened):
    from explorer.core.space import vector_file as VF
    from explorer.core.space import vectors as V

    model, ds = opened.model, opened.dataset
    path = Path(args.vector).expanduser()
    if path.is_file():
        vectors = VF.load_vectors(path, model.info.content_hash, model.latent_dim)
        if not vectors:
            raise V.VectorError(f"{path}: holds no vectors")
        if len(vectors) > 1:
            print(f"{path} holds {len(vectors)} vectors; sweeping along the first, {vectors[0].name}", file=sys.stderr)
        return vectors[0]
    if args.vector not in ds.label_names:
        raise V.VectorError(
            f"--vector {args.vector}: no such file, and no label called {args.vector!r} "
            f"(labels: {', '.join(ds.label_names) or 'none'})"
        )
    balance_by = common.name_list(args.balance_by)
    method = V.BALANCED if balance_by else V.MEAN
    return V.from_label(method, opened.encodings.mu, ds.labels, ds.label_names, args.vector, balance_by, data=ds.spec)
