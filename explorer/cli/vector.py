"""`vae-explorer vector`: compute an attribute vector headless, save it, print its quality."""

from __future__ import annotations

import argparse

from explorer.cli import common

METHODS = ("mean difference", "balanced", "logistic", "ridge")
_SHORT = {"mean": "mean difference", "mean-difference": "mean difference"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p, data_help="a dataset with labels, e.g. builtin:faces")
    p.add_argument("--label", required=True, metavar="NAME", help="the label the vector stands for")
    p.add_argument(
        "--method",
        choices=("mean", "balanced", "logistic", "ridge"),
        default=None,
        help="mean difference (default), balanced (with --balance-by), logistic, ridge (continuous)",
    )
    p.add_argument(
        "--balance-by",
        default="",
        metavar="A,B",
        help="confounding binary labels to balance (White 2017); implies --method balanced",
    )
    p.add_argument("--out", required=True, metavar="FILE.json", help="where to save the vector")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer.core.space import vector_file as VF
    from explorer.core.space import vectors as V
    from explorer_models.errors import UserInputError

    out = common.check_out(args.out, args.force)
    balance_by = common.name_list(args.balance_by)
    method = _SHORT.get(args.method, args.method) or ("balanced" if balance_by else "mean difference")
    opened = common.open_encoded(args)
    model, dataset, encodings = opened.model, opened.dataset, opened.encodings
    if not dataset.label_names:
        raise UserInputError(f"{args.data}: has no labels to make a vector from")
    vector = V.from_label(
        method, encodings.mu, dataset.labels, dataset.label_names, args.label, balance_by, data=dataset.spec
    )
    VF.save_vectors(out, [vector], model.info.content_hash)
    q = vector.quality
    print(f"{vector.name}: {vector.method} on {dataset.spec} ({len(dataset):,} points)")
    auc = "n/a" if q.auc is None else f"{q.auc:.4f}"
    print(
        f"  AUC {auc}   Cohen's d {q.cohens_d:.3f}   n {q.n_positive:,} / {q.n_negative:,}   "
        f"slider unit (std along it) {vector.std:.4f}"
    )
    print(f"  saved to {out}")
    return 0
