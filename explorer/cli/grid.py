"""`vae-explorer grid`: a grid of decoded images between four corner data points, or an
analogy grid (A is to B as C is to ?), written as PNG, GIF or APNG without a window."""

from __future__ import annotations

import argparse

from explorer.cli import common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p)
    corners = p.add_mutually_exclusive_group(required=True)
    corners.add_argument(
        "--corners",
        type=int,
        nargs=4,
        metavar=("I", "J", "K", "L"),
        help="data points at the top-left, top-right, bottom-left and bottom-right",
    )
    corners.add_argument(
        "--analogy",
        type=int,
        nargs=3,
        metavar=("A", "B", "C"),
        help="A is to B as C is to ?: the fourth corner is C + (B - A)",
    )
    p.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(5, 5),
        metavar=("ROWS", "COLS"),
        help="rows and columns, 2..32 each (default 5 5)",
    )
    common.add_figure_options(p, originals=False)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer.core.figures import figure as F
    from explorer.core.figures.export import check_target

    kind, given, option = (
        (F.GRID, args.corners, "--corners") if args.corners else (F.ANALOGY, args.analogy, "--analogy")
    )
    spec = common.figure_spec(args, kind=kind, rows=args.size[0], cols=args.size[1])
    check_target(args.out, args.force)  # before any slow work
    opened = common.open_encoded(args)
    keyframes = [
        F.Keyframe.data_point(opened.encodings.mu, common.data_index(option, i, opened.dataset)) for i in given
    ]
    return common.write_figure(args, opened, F.build(spec, keyframes))
