"""`vae-explorer vector`: compute an attribute vector headless, save it, print its quality."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

METHODS = ("mean difference", "balanced", "logistic", "ridge")
_SHORT = {"mean": "mean difference", "mean-difference": "mean difference"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="SPEC", help="builtin:faces or a .safetensors path")
    p.add_argument("--data", required=True, metavar="SPEC", help="a dataset with labels, e.g. builtin:faces")
    p.add_argument("--label", required=True, metavar="NAME", help="the label the vector stands for")
    p.add_argument("--method", choices=("mean", "balanced", "logistic", "ridge"), default=None,
                   help="mean difference (default), balanced (with --balance-by), logistic, ridge (continuous)")
    p.add_argument("--balance-by", default="", metavar="A,B",
                   help="confounding binary labels to balance (White 2017); implies --method balanced")
    p.add_argument("--out", required=True, metavar="FILE.json", help="where to save the vector")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from tqdm import tqdm

    from explorer.core import vectors as V
    from explorer.core.datasets import check_spec, load_for_model
    from explorer.core.encoding import encode_with_cache
    from models import load_model, resolve_device
    from models.errors import UserInputError

    out = Path(args.out).expanduser()
    if out.exists() and not args.force:
        raise UserInputError(f"--out {out}: the file exists; add --force to replace it")
    if not out.parent.is_dir():
        raise UserInputError(f"--out {out}: folder {out.parent} does not exist")
    balance_by = tuple(n.strip() for n in args.balance_by.split(",") if n.strip())
    method = _SHORT.get(args.method, args.method) or ("balanced" if balance_by else "mean difference")
    check_spec(args.data)
    device = resolve_device(args.device)
    model = load_model(args.model).to(device)
    dataset = load_for_model(args.data, model.image_shape)
    if not dataset.label_names:
        raise UserInputError(f"{args.data}: has no labels to make a vector from")
    bar = tqdm(total=len(dataset), unit="img", desc="encoding", file=sys.stderr, disable=None)
    encodings = encode_with_cache(model, dataset, device, on_progress=lambda p: bar.update(p.done - bar.n))
    bar.close()
    vector = V.from_label(method, encodings.mu, dataset.labels, dataset.label_names, args.label, balance_by,
                          data=dataset.spec)
    V.save_vectors(out, [vector], model.info.content_hash)
    q = vector.quality
    print(f"{vector.name}: {vector.method} on {dataset.spec} ({len(dataset):,} points)")
    auc = "n/a" if q.auc is None else f"{q.auc:.4f}"
    print(f"  AUC {auc}   Cohen's d {q.cohens_d:.3f}   n {q.n_positive:,} / {q.n_negative:,}   "
          f"slider unit (std along it) {vector.std:.4f}")
    print(f"  saved to {out}")
    return 0
