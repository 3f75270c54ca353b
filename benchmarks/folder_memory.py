"""Peak memory and time of opening a large folder of images (issue 12: "large ones read lazily
with bounded memory").

Writes N small PNGs (default 50,000 at 64x64: 614 MB once decoded at the model's size, over
folder.IN_MEMORY_BYTES), then opens the folder in a fresh process each time, as the CLI and the
window do, and reports that process's peak resident memory (ru_maxrss), the peak resident memory
of its worker processes together (sampled from /proc every 0.1 s: Linux) and the wall time:
  - in memory: IN_MEMORY_BYTES raised so the images stay in one array (the old path);
  - on disk, first open: decoded into a memory-mapped file in the cache;
  - on disk, second open: that file read back, nothing decoded.

Images are decoded in worker processes (folder.PROCESS_MIN_FILES files or more) or on threads of
the process itself: --workers threads|processes picks one for every open (default: as the app
does), to compare the two.

    python benchmarks/folder_memory.py [--images N] [--keep DIR] [--workers threads|processes]
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
import json, os, resource, sys, threading, time
from explorer.core.data import folder as F, load_dataset
if sys.argv[2] == "memory":
    F.IN_MEMORY_BYTES = 1 << 62
if sys.argv[3] != "auto":
    F.PROCESS_MIN_FILES = 0 if sys.argv[3] == "processes" else 1 << 62

def children_mb():  # resident memory of this process's descendants (the worker processes), from /proc
    tree = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append((int(pid), int(fields[21])))
        except (OSError, IndexError, ValueError):
            pass
    total, todo = 0, [os.getpid()]
    while todo:
        for pid, pages in tree.get(todo.pop(), []):
            total, todo = total + pages, todo + [pid]
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20

peak_children, done = [0.0], threading.Event()
def watch():
    while not done.wait(0.1):
        peak_children[0] = max(peak_children[0], children_mb())
watcher = threading.Thread(target=watch)
watcher.start()
t = time.perf_counter()
ds = load_dataset(sys.argv[1], image_size=64)
seconds = time.perf_counter() - t
done.set()
watcher.join()
checksum = int(ds.images[::997].sum())  # touch a spread of rows, as encoding would
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(n=len(ds), seconds=seconds, peak_mb=peak_mb, workers_mb=peak_children[0], checksum=checksum)))
"""


def write_images(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        Image.fromarray(pixels).save(folder / f"{i:06d}.png", compress_level=1)


def open_in_fresh_process(folder: Path, mode: str, cache: Path, workers: str) -> dict:
    env = {**os.environ, "VAE_EXPLORER_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", OPEN, str(folder), mode, workers], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="write (or reuse) the images here instead of a temp folder")
    parser.add_argument(
        "--workers", choices=("auto", "threads", "processes"), default="auto", help="where images are decoded"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "images"
        if not folder.exists() or len(list(folder.iterdir())) != args.images:
            t = time.perf_counter()
            write_images(folder, args.images)
            print(f"wrote {args.images:,} PNGs in {time.perf_counter() - t:.0f} s")
        cache = Path(tmp) / "cache"
        decoded_mb = args.images * 64 * 64 * 3 / 2**20
        print(f"{args.images:,} images, {decoded_mb:,.0f} MB decoded at 64x64x3; decoded on {args.workers}")
        opens = [
            ("in memory (one array)", "memory"),
            ("on disk, first open (decoded into the cache)", "disk"),
            ("on disk, second open (read back)", "disk"),
        ]
        rows = [(what, open_in_fresh_process(folder, mode, cache, args.workers)) for what, mode in opens]
        assert len({r["checksum"] for _, r in rows}) == 1, "the three opens read different pixels"
        for what, r in rows:
            workers = f"   + worker processes {r['workers_mb']:5,.0f} MB" if r["workers_mb"] else ""
            print(f"  {what:48s} peak RSS {r['peak_mb']:7,.0f} MB   {r['seconds']:6.1f} s{workers}")


if __name__ == "__main__":
    main()
