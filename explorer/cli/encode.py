"""`vae-explorer encode`: a dataset's latents and per-image terms into one .npz, whole or one
shard of N (`--shard I/N`, for a SLURM array, torchrun or Ray tasks: `vae-explorer merge` joins
the shards, equal bit for bit to a whole encode). The file opens as a data SPEC."""

from __future__ import annotations

import argparse
import sys

from explorer.cli import common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p)
    p.add_argument("--out", required=True, metavar="FILE.npz", help="the latents file to write")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="encode only shard I (from 0) of N; `vae-explorer merge` joins the N files",
    )


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from tqdm import tqdm

    from explorer.core.data import check_spec, load_for_model
    from explorer.core.steps import run_steps
    from explorer.core.store import shards
    from explorer_models import load_model, resolve_device
    from explorer_models.errors import UserInputError

    out = common.check_out(args.out, args.force)
    if out.suffix.lower() != ".npz":
        raise UserInputError(f"--out {out}: the file name must end in .npz")
    index, count = shards.parse_shard(args.shard) if args.shard else (0, 1)
    check_spec(args.data)
    device = resolve_device(args.device)
    model = load_model(common.model_source(args)).to(device)
    dataset = load_for_model(args.data, model.image_shape, labels=args.labels)
    common.warn_skipped(dataset)
    rows = shards.shard_rows(len(dataset), index, count)
    what = f"shard {index}/{count}, rows {rows.start:,} to {rows.stop - 1:,}" if args.shard else "all rows"
    with tqdm(total=len(rows), unit="img", desc="encoding", file=sys.stderr, disable=None, leave=False) as bar:
        encoded = run_steps(
            shards.encode_rows_steps(model, dataset, rows, device), lambda p: bar.update(p.done - bar.n)
        )
    common.warn(encoded.warnings)
    info = model.info
    meta = {
        "model": common.describe_model(info),
        "model_hash": info.content_hash,
        "data": dataset.spec,
        "data_fingerprint": dataset.fingerprint,
        "n": len(dataset),
        "rows": [rows.start, rows.stop],
        "shard": [index, count] if args.shard else None,
    }
    labels = dataset.labels[rows.start : rows.stop]
    shards.write_latents(out, encoded.encodings, labels, dataset.label_names, meta)
    resumed = f", resumed after {encoded.resumed_from:,}" if encoded.resumed_from else ""
    print(f"wrote {out} ({len(rows):,} points, {what}; latent size {model.latent_dim}{resumed})")
    return 0
