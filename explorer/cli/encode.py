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
    ray = p.add_argument_group('on a Ray cluster (pip install "vae-explorer[ray]")')
    ray.add_argument("--engine", choices=("local", "ray"), default="local", help="where to encode (default local)")
    ray.add_argument("--address", metavar="ADDR", help="the Ray cluster (default: a running one, else a local one)")
    ray.add_argument("--shards", type=int, default=0, metavar="N", help="the Ray tasks to split into (default 4)")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from tqdm import tqdm

    from explorer.core.data import check_spec
    from explorer.core.store import shards
    from explorer_models.errors import UserInputError

    out = common.check_out(args.out, args.force)
    if out.suffix.lower() != ".npz":
        raise UserInputError(f"--out {out}: the file name must end in .npz")
    index, count = shards.parse_shard(args.shard) if args.shard else (0, 1)
    check_spec(args.data)
    source = common.model_source(args)
    if args.engine == "ray":
        return _on_ray(args, out, source)
    with tqdm(unit="img", desc="encoding", file=sys.stderr, disable=None, leave=False) as bar:

        def progress(p):
            bar.total = p.total
            bar.update(p.done - bar.n)

        shard = (index, count, args.device, progress)
        part, encoded, dataset = shards.encode_shard(source, args.data, args.labels, *shard)
    common.warn_skipped(dataset)
    common.warn(encoded.warnings)
    shards.save(out, part.arrays, part.meta)
    rows = part.rows
    what = f"shard {index}/{count}, rows {rows.start:,} to {rows.stop - 1:,}" if args.shard else "all rows"
    resumed = f", resumed after {encoded.resumed_from:,}" if encoded.resumed_from else ""
    print(f"wrote {out} ({len(rows):,} points, {what}; latent size {part.arrays['mu'].shape[1]}{resumed})")
    return 0


def _on_ray(args: argparse.Namespace, out, source) -> int:
    from explorer.core.store import shards
    from explorer.core.store.on_ray import encode_on_ray
    from explorer_models.errors import UserInputError

    if args.shard:
        raise UserInputError("--shard and --engine ray: give one (Ray splits the dataset into --shards tasks itself)")
    count = args.shards or 4
    if not 1 <= count <= 10_000:
        raise UserInputError(f"--shards {count}: give 1 to 10,000 tasks")
    arrays, meta = encode_on_ray(source, args.data, args.labels, count, args.device, args.address)
    shards.save(out, arrays, meta)
    print(f"wrote {out} ({meta['n']:,} points from {count} Ray tasks)")
    return 0
