"""`vae-explorer merge SHARD.npz ... --out FILE.npz`: the shards of one `encode --shard I/N`
run joined into one latents file, checked to be of one encode and to cover every row once."""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli import common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shards", nargs="+", metavar="SHARD.npz", help="the files `encode --shard I/N` wrote")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="the latents file to write")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer.core.store import shards

    out = common.check_out(args.out, args.force)
    arrays, meta = shards.merge([Path(p) for p in args.shards])
    shards.save(out, arrays, meta)
    print(f"wrote {out} ({meta['n']:,} points from {len(args.shards)} shards)")
    return 0
