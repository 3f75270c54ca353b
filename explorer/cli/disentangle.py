"""`vae-explorer disentangle`: how one-to-one are a model's latent dimensions and the data's
labelled factors? MIG, SAP and DCI (disentanglement, completeness, informativeness), per factor
the dimension that carries it, and a heatmap of the dims against the factors
(explorer.core.space.disentanglement holds the formulas)."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli import common

# explorer.core.space.disentanglement's MATRICES, MAX_POINTS and MIN_POINTS (not imported here: they
# pull in numpy and Pillow, and --help needs only these)
MATRICES = ("normalised_mi", "mutual_info", "importance", "sap_scores")
DEFAULT_MAX_POINTS = 5000
MIN_POINTS = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p, data_help="a dataset with labelled factors, e.g. builtin:faces")
    p.add_argument(
        "--factors",
        default="",
        metavar="NAME[,NAME]",
        help="the labels to measure against, comma-separated (default: every label of the data)",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the points sampled and the held-out split (default 0)")
    p.add_argument(
        "--max-points",
        type=common.at_least(MIN_POINTS),
        default=DEFAULT_MAX_POINTS,
        metavar="N",
        help=f"points per factor the SAP and DCI models fit and score on (default {DEFAULT_MAX_POINTS:,}); "
        "mutual information uses every point",
    )
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON (replaced if it exists)")
    p.add_argument(
        "--heatmap", metavar="FILE.png", help="also draw the dims against the factors as a PNG (replaced if it exists)"
    )
    p.add_argument(
        "--heatmap-of",
        choices=MATRICES,
        default=MATRICES[0],
        help="the matrix --heatmap draws: normalised MI (default), MI in nats, DCI importance or SAP scores",
    )


def _factors(args: argparse.Namespace, dataset) -> dict:
    from explorer_models.errors import UserInputError

    names = dataset.label_names
    if not names:
        raise UserInputError(
            f"{dataset.spec}: has no labels; disentanglement is measured against labelled factors "
            "(e.g. builtin:faces, or an .npz with label arrays beside the images)"
        )
    wanted = common.name_list(args.factors) or names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise UserInputError(f"--factors: {dataset.spec} has no label {unknown[0]!r}; its labels: {', '.join(names)}")
    from explorer.core.space.disentanglement import factors_of

    return factors_of(dataset, dict.fromkeys(wanted))


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer_models.atomic import check_writable, write_bytes_atomic
    from explorer_models.errors import UserInputError

    if not 0 <= args.seed < 2**32:  # before any slow work, as the outputs below
        raise UserInputError(f"--seed {args.seed}: a seed is a whole number from 0 to 2**32 - 1")
    if args.json is not None:
        check_writable(args.json, force=True, label="--json ")
    if args.heatmap is not None:
        if not args.heatmap.lower().endswith(".png"):
            raise UserInputError(f"--heatmap {args.heatmap}: the heatmap is a PNG; give a FILE.png")
        check_writable(args.heatmap, force=True, label="--heatmap ")

    from explorer.core.figures.export import png_bytes
    from explorer.core.space import disentanglement as D

    opened = common.open_encoded(args)
    ds = opened.dataset
    report = D.measure(opened.encodings.mu, _factors(args, ds), seed=args.seed, max_points=args.max_points)
    model = opened.model.info.command_line()
    print(f"disentanglement of {model} on {ds.spec}")
    print("\n".join(report.lines()))
    if args.json is not None:
        facts = {"model": model, "data": ds.spec, **report.to_dict()}
        write_bytes_atomic(args.json, (json.dumps(facts, indent=2, allow_nan=False) + "\n").encode())
        print(f"wrote {args.json}", file=sys.stderr)
    if args.heatmap is not None:
        write_bytes_atomic(args.heatmap, png_bytes(D.heatmap_image(report, args.heatmap_of)))
        print(f"wrote {args.heatmap} ({args.heatmap_of})", file=sys.stderr)
    return 0
