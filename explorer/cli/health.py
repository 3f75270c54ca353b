"""`vae-explorer health`: is a model using its latent space, and how good a generative model is it?
Active units, KL per dimension, I(x; z), an IWAE log-likelihood bound beside the ELBO, the
aggregate posterior against the prior, and flags for posterior collapse and prior holes
(explorer.core.space.health holds the formulas)."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli import common

DEFAULT_K = 64  # explorer.core.space.health.DEFAULT_K (not imported here: it pulls in torch)
DEFAULT_N = 256


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p)
    common.add_iwae_options(p, DEFAULT_K, DEFAULT_N)
    p.add_argument("--seed", type=int, default=0, help="seeds every sample the figures draw (default 0)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON (replaced if it exists)")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer.core.data import NO_IMAGE, has_images
    from explorer.core.space import health as H
    from explorer_models.atomic import check_writable, write_bytes_atomic

    if args.json is not None:
        check_writable(args.json, force=True, label="--json ")  # before any slow work
    opened = common.open_encoded(args)
    enc, ds = opened.encodings, opened.dataset
    images = None
    if args.iwae_n > 0:
        if has_images(ds):
            images = ds.images_at(H.pick_images(len(ds), args.iwae_n, args.seed))
        else:
            common.warn([f"{NO_IMAGE}: no log-likelihood estimate (it needs the data's images)"])
    report = H.measure(
        enc.mu, enc.logvar, model=opened.model, images=images, k=args.iwae_k, seed=args.seed, device=opened.device
    )
    print(f"health of {opened.model.info.command_line()} on {ds.spec}")
    print("\n".join(report.lines()))
    if args.json is not None:
        facts = {"model": opened.model.info.command_line(), "data": ds.spec, "seed": args.seed, **report.to_dict()}
        write_bytes_atomic(args.json, (json.dumps(facts, indent=2) + "\n").encode())
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
