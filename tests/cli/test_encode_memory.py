"""Issue 13: a streaming encode of a dataset larger than a set memory budget stays within it.

`vae-explorer encode` of a 307 MB .npy of images (memory-mapped, read a chunk at a time) runs in
a fresh process. Its peak resident memory (ru_maxrss) exceeds that of the same command on a
dataset of ten chunks by less than the budget, a third of the dataset; and the file it writes
holds every row, equal bit for bit to an encode of the same images in memory.
Nothing here is timed: the figures are bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from explorer.core.data import ArrayDataset
from explorer.core.steps import run_steps
from explorer.core.store import encoding, shards
from explorer_models import ModelInfo, VAEConfig, build_model, load_model, save_checkpoint

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is counted in kB on Linux only")

SHAPE = (32, 32, 3)  # 3,072 bytes an image
N_SMALL, N_LARGE = 10 * shards.CHUNK, 100_000  # 7.9 MB and 307 MB
BUDGET = N_LARGE * int(np.prod(SHAPE)) // 3  # 102 MB
CLI = "import sys; from explorer.cli import main; sys.exit(main())"
# ru_maxrss of the command, read by a small process that starts it: a child forked from this test
# process would count this process's own pages (torch, pytest) in its peak until its exec.
PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def write_images(path, n: int) -> None:
    """n distinct images, written a block at a time (this process never holds them all)."""
    block = np.random.default_rng(0).integers(0, 256, (1000, *SHAPE), dtype=np.uint8)
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, *SHAPE))
    for start in range(0, n, 1000):
        part = images[start : start + 1000]
        part[:] = block[: len(part)] + np.uint8(start // 1000 % 256)  # wraps: each block differs
    images.flush()
    del images


def encode_peak(folder, data: str, out: str) -> tuple[int, str]:
    """(peak resident bytes, stdout) of `vae-explorer encode` in a fresh process."""
    argv = [sys.executable, "-c", CLI, "encode", "--model", str(folder / "tiny.safetensors")]
    argv += ["--data", str(folder / data), "--out", str(folder / out), "--device", "cpu"]
    peak = folder / f"{out}.peak"
    # the cache is isolated_cache's, through the environment
    done = subprocess.run([sys.executable, "-c", PEAK, str(peak), *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return int(peak.read_text()) * 1024, done.stdout  # kB on Linux


def test_a_streaming_encode_of_a_dataset_larger_than_the_budget_stays_within_it(tmp_path, isolated_cache):
    torch.manual_seed(0)
    config = VAEConfig("mlp", (SHAPE[2], *SHAPE[:2]), latent_dim=2, widths=(4,))  # fast: the data is the load
    save_checkpoint(build_model(config, ModelInfo(name="tiny")), tmp_path / "tiny.safetensors")
    write_images(tmp_path / "large.npy", N_LARGE)
    np.save(tmp_path / "small.npy", np.load(tmp_path / "large.npy", mmap_mode="r")[:N_SMALL])
    dataset_bytes = (tmp_path / "large.npy").stat().st_size
    assert dataset_bytes > 3 * BUDGET

    small_peak, _ = encode_peak(tmp_path, "small.npy", "small.npz")
    large_peak, stdout = encode_peak(tmp_path, "large.npy", "large.npz")
    grew = large_peak - small_peak
    assert grew < BUDGET, f"peak RSS grew {grew / 2**20:.0f} MB for a {dataset_bytes / 2**20:.0f} MB dataset"
    assert stdout.startswith(f"wrote {tmp_path / 'large.npz'} (100,000 points, all rows")

    written = np.load(tmp_path / "large.npz")
    assert json.loads(bytes(written[shards.META]).decode())["rows"] == [0, N_LARGE]
    images = np.load(tmp_path / "large.npy")  # into memory, this time
    in_memory = ArrayDataset("in memory", images, np.zeros((N_LARGE, 0), np.float32), (), "")
    model = load_model(tmp_path / "tiny.safetensors")
    steps = encoding.encode_dataset_steps(model, in_memory, "cpu", None, first_chunk=shards.CHUNK, fixed_chunk=True)
    expected = run_steps(steps).encodings
    for column in encoding.COLUMNS:
        assert written[column].shape[0] == N_LARGE and np.isfinite(written[column]).all(), column
        assert np.array_equal(written[column], getattr(expected, column)), column
    assert len(np.unique(written["mu"][:, 0])) > N_LARGE // 2  # distinct images, distinct latents
