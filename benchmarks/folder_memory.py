"""Peak memory and time of opening a large folder of images (issue 12: "large ones read lazily
with bounded memory").

Writes N small PNGs (default 50,000 at 64x64: 614 MB once decoded at the model's size, over
folder.IN_MEMORY_BYTES), then opens the folder in a fresh process each time, as the CLI and the
window do, and reports that process's peak resident memory (ru_maxrss) and wall time:
  - in memory: IN_MEMORY_BYTES raised so the images stay in one array (the old path);
  - on disk, first open: decoded into a memory-mapped file in the cache;
  - on disk, second open: that file read back, nothing decoded.

    python benchmarks/folder_memory.py [--images N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPEN = """
import json, resource, sys, time
from explorer.core.data import folder as F, load_dataset
if sys.argv[2] == "memory":
    F.IN_MEMORY_BYTES = 1 << 62
t = time.perf_counter()
ds = load_dataset(sys.argv[1], image_size=64)
seconds = time.perf_counter() - t
checksum = int(ds.images[::997].sum())  # touch a spread of rows, as encoding would
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": len(ds), "seconds": seconds, "peak_mb": peak_mb, "checksum": checksum}))
"""


def write_images(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        Image.fromarray(pixels).save(folder / f"{i:06d}.png", compress_level=1)


def open_in_fresh_process(folder: Path, mode: str, cache: Path) -> dict:
    env = {**os.environ, "VAE_EXPLORER_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", OPEN, str(folder), mode], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="write (or reuse) the images here instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "images"
        if not folder.exists() or len(list(folder.iterdir())) != args.images:
            t = time.perf_counter()
            write_images(folder, args.images)
            print(f"wrote {args.images:,} PNGs in {time.perf_counter() - t:.0f} s")
        cache = Path(tmp) / "cache"
        decoded_mb = args.images * 64 * 64 * 3 / 2**20
        print(f"{args.images:,} images, {decoded_mb:,.0f} MB decoded at 64x64x3")
        rows = [
            ("in memory (one array)", open_in_fresh_process(folder, "memory", cache)),
            ("on disk, first open (decoded into the cache)", open_in_fresh_process(folder, "disk", cache)),
            ("on disk, second open (read back)", open_in_fresh_process(folder, "disk", cache)),
        ]
        assert len({r["checksum"] for _, r in rows}) == 1, "the three opens read different pixels"
        for what, r in rows:
            print(f"  {what:48s} peak RSS {r['peak_mb']:7,.0f} MB   {r['seconds']:6.1f} s")


if __name__ == "__main__":
    main()
