"""Encode a dataset once: mu, logvar and the per-point ELBO terms, in chunks, cached on disk.

`encode_steps` is a generator that encodes one chunk per step and yields progress. The model
worker advances it one step at a time, serving cursor decodes in between, so hovering stays
live while a dataset encodes. Chunks adapt their size to about `target_seconds` each.

The result is a column store (one array per column, memory-mappable) cached under
<cache>/encodings/<model hash>-<data fingerprint>/: a changed model or dataset has another
key, so a stale cache is never reused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explorer.core.steps import Progress, Steps, run_steps
from explorer.core.store import cache
from models.evaluation import per_image_terms
from models.vae import VAE, images_to_tensor, kl_to_standard_normal

COLUMNS = ("mu", "logvar", "recon", "kl", "mse")
CACHE_FORMAT = 1


@dataclass(frozen=True)
class Encodings:
    """Per data point: mu, logvar (N, D); recon (-log p(x|z=mu)), kl, mse (N,)."""

    mu: np.ndarray
    logvar: np.ndarray
    recon: np.ndarray
    kl: np.ndarray
    mse: np.ndarray

    def __len__(self) -> int:
        return len(self.mu)

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]

    def kl_per_dim(self) -> np.ndarray:
        """Mean KL(q(z_j|x) || N(0, 1)) over the data for each latent dimension j: the
        'active units' a model uses (near 0 means the dimension is ignored)."""
        # np.array copies: the columns may be read-only memory maps, which torch will not wrap
        return (
            kl_to_standard_normal(
                torch.from_numpy(np.array(self.mu, np.float32)), torch.from_numpy(np.array(self.logvar, np.float32))
            )
            .mean(0)
            .numpy()
        )


def encode_steps(
    model: VAE,
    images: np.ndarray,
    device: torch.device | str = "cpu",
    target_seconds: float = 0.04,
    first_chunk: int = 32,
    max_chunk: int = 4096,
) -> Steps[Encodings]:
    """Encode `images` chunk by chunk; yields Progress after each chunk, returns Encodings."""
    n, d = len(images), model.latent_dim
    out = {
        "mu": np.empty((n, d), np.float32),
        "logvar": np.empty((n, d), np.float32),
        "recon": np.empty(n, np.float32),
        "kl": np.empty(n, np.float32),
        "mse": np.empty(n, np.float32),
    }
    start, chunk = 0, first_chunk
    while start < n:
        t0 = time.perf_counter()
        x = images_to_tensor(images[start : start + chunk]).to(device)
        terms = per_image_terms(model, x, sample=False)
        for k, v in terms.items():
            out[k][start : start + len(x)] = v.cpu().numpy()
        start += len(x)
        # Aim each chunk at target_seconds: short enough to serve a cursor decode between
        # chunks, long enough to keep the device busy.
        elapsed = max(time.perf_counter() - t0, 1e-6)
        chunk = int(np.clip(chunk * target_seconds / elapsed, max(chunk // 2, 8), min(chunk * 2, max_chunk)))
        yield Progress(start, n)
    return Encodings(**out)


def encode_all(model: VAE, images: np.ndarray, device: torch.device | str = "cpu", **kwargs) -> Encodings:
    """encode_steps run to the end (for scripts and tests)."""
    return run_steps(encode_steps(model, images, device, **kwargs))


def cache_key(model_hash: str, data_fingerprint: str) -> str | None:
    """None when either side has no content identity (nothing safe to key on)."""
    if not model_hash or not data_fingerprint:
        return None
    return f"{model_hash[:24]}-{data_fingerprint[:24]}"


def load_cached(key: str | None, n: int | None = None) -> Encodings | None:
    """Cached encodings for `key` (memory-mapped), or None when absent, damaged or of another size."""
    if key is None:
        return None
    folder = cache.cache_dir("encodings") / key
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != CACHE_FORMAT:
            return None
        arrays = {c: np.load(folder / f"{c}.npy", mmap_mode="r", allow_pickle=False) for c in COLUMNS}
    except (OSError, ValueError):
        return None
    sizes = {len(a) for a in arrays.values()}
    if sizes != {meta.get("n")} or (n is not None and sizes != {n}):
        return None
    return Encodings(**arrays)


def save_cached(key: str | None, enc: Encodings) -> None:
    """Write the columns to a temp folder, then rename it into place (never half a cache)."""
    if key is None:
        return
    root = cache.cache_dir("encodings")
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    try:
        for c in COLUMNS:
            np.save(tmp / f"{c}.npy", np.asarray(getattr(enc, c)), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps({"format": CACHE_FORMAT, "n": len(enc)}))
        final = root / key
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def encode_with_cache(model: VAE, dataset, device: torch.device | str = "cpu", on_progress=None) -> Encodings:
    """The dataset's encodings from the cache, or encoded now (and cached). For headless use:
    the window runs encode_steps on its worker instead, to stay responsive."""
    key = cache_key(model.info.content_hash, dataset.fingerprint)
    cached = load_cached(key, len(dataset))
    if cached is not None:
        return cached
    encodings = run_steps(encode_steps(model, dataset.images, device), on_progress)
    save_cached(key, encodings)
    return encodings
