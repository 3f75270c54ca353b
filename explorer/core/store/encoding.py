"""Encode a dataset once: mu, logvar and the per-point ELBO terms, in chunks, stored on disk.

`encode_dataset_steps` is a generator that encodes one chunk per step and yields progress. The
model worker advances it one step at a time, serving cursor decodes in between, so hovering
stays live while a dataset encodes. Chunks adapt their size to about `target_seconds` each.

Each chunk goes into the latents store (latents.py) under <cache>/encodings/<key>.partial/ as
it is encoded, so a cancelled encoding keeps what it did and the next one with the same key
resumes there; the finished store is renamed <key>/ and opened memory-mapped. The key is
<model hash>-<data fingerprint>: a changed model or dataset has another key, so a stale store
is never reused. The cache is only a help: when it cannot be written the encoding goes on in
memory and says so in a warning, never in an error.

A dataset of precomputed latents (explorer.core.data.latents_file) is not encoded: its
encodings are the file's (file_encodings), and nothing is stored (the file is its own store).
"""

from __future__ import annotations

import hashlib
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.core.data.latents_file import LatentsDataset, check_latent_size
from explorer.core.steps import Progress, Steps, run_steps
from explorer.core.store import cache
from explorer.core.store.chunk_loop import ChunkSizer, EncodingError, fill
from explorer.core.store.latents import COLUMNS, FORMAT, Encodings, StoreWriter, empty_columns, open_complete
from explorer_models.contract import likelihood_of
from explorer_models.vae import LatentModel

if TYPE_CHECKING:
    from explorer.core.data.base import DatasetLike

__all__ = [
    "CACHE_FORMAT",
    "COLUMNS",
    "Encoded",
    "EncodingError",
    "Encodings",
    "Progress",
    "cache_key",
    "encode_all",
    "encode_dataset_steps",
    "encode_steps",
    "encode_with_cache",
    "file_encodings",
    "load_cached",
    "open_cached",
    "save_cached",
]

CACHE_FORMAT = FORMAT
ENCODINGS = "encodings"  # the store's folder in the cache
_IN_MEMORY = "encoded in memory, not cached"
_KL_ROWS = 65_536


@dataclass(frozen=True)
class Encoded:
    """What encode_dataset_steps returns: the encodings, what the user should know (the cache
    could not be written), and how many rows a previous, cancelled run had already stored."""

    encodings: Encodings
    warnings: tuple[str, ...] = ()
    resumed_from: int = 0


def cache_key(model_hash: str, data_fingerprint: str) -> str | None:
    """None when either side has no content identity (nothing safe to key on)."""
    if not model_hash or not data_fingerprint:
        return None
    return f"{model_hash[:24]}-{data_fingerprint[:24]}"


def model_cache_key(model: LatentModel, data_fingerprint: str) -> str | None:
    """The cache key of a model's encodings of a dataset: its weights and the likelihood its
    reconstruction term is scored with (a changed declaration must not reuse old terms), and its
    latent size (a model whose info names the weights of another must not get their latents)."""
    if not model.info.content_hash:
        return None
    what = f"{model.info.content_hash}/{model.latent_dim}/{likelihood_of(model).describe()}"
    scored = hashlib.sha256(what.encode()).hexdigest()
    return cache_key(scored, data_fingerprint)


def open_cached(key: str | None, n: int) -> Encodings | None:
    """The complete stored encodings of `key` (memory-mapped, read-only); None when absent,
    damaged, partial or not of n rows."""
    return load_cached(key, n)


def load_cached(key: str | None, n: int | None = None) -> Encodings | None:
    """open_cached, with n optional (any size)."""
    return None if key is None else open_complete(cache.cache_path(ENCODINGS, key), n)


def save_cached(key: str | None, enc: Encodings) -> str | None:
    """Store finished encodings under `key` in one go (replacing any store of that key).
    Returns a warning when the cache cannot be written; never raises for that."""
    if key is None:
        return None
    try:
        with StoreWriter.create(cache.make_dir(ENCODINGS), key, len(enc), enc.latent_dim) as writer:
            writer.write(0, {c: getattr(enc, c) for c in COLUMNS})
            writer.finish()
    except OSError as e:
        return cache.unwritable_warning(cache.cache_path(ENCODINGS), e, "the encodings were not cached")
    return None


def encode_dataset_steps(
    model: LatentModel,
    dataset: DatasetLike,
    device: torch.device | str = "cpu",
    key: str | None = None,
    *,
    target_seconds: float = 0.04,
    first_chunk: int = 32,
    max_chunk: int = 16384,
    fixed_chunk: bool = False,
) -> Steps[Encoded]:
    """Encode the dataset chunk by chunk into the store of `key` (in memory when key is None or
    the cache cannot be written), resuming a partial store of that key; yields Progress after
    each chunk. A complete store of `key` is returned at once. Closing the generator early
    (cancel) keeps the rows written so far for the next run. With fixed_chunk, every chunk has
    first_chunk rows (shards.py: each image in the same batch however a dataset is split)."""
    n, d = len(dataset), model.latent_dim
    from_file = file_encodings(dataset, d)
    if from_file is not None:
        return Encoded(from_file, (), n)
    cached = load_cached(key, n)
    if cached is not None and cached.latent_dim == d:
        return Encoded(cached, (), n)
    read = lambda start, stop: dataset.images_at(range(start, stop))
    sizer = ChunkSizer(first_chunk, target_seconds, max_chunk, fixed=fixed_chunk)
    if key is None:
        return Encoded((yield from fill(model, read, n, device, _Memory(n, d), 0, sizer)))
    try:
        writer = StoreWriter.open(cache.make_dir(ENCODINGS), key, n, d)
    except OSError as e:
        warning = cache.unwritable_warning(cache.cache_path(ENCODINGS), e, _IN_MEMORY)
        return Encoded((yield from fill(model, read, n, device, _Memory(n, d), 0, sizer)), (warning,))
    resumed_from = writer.done
    with closing(writer):
        try:
            return Encoded(
                (yield from fill(model, read, n, device, _Stored(writer), writer.done, sizer)), (), resumed_from
            )
        except _CacheFailed as failed:
            warning = cache.unwritable_warning(writer.folder.parent, failed.error, _IN_MEMORY)
            memory, start = failed.salvage(writer, n, d)
    if start < resumed_from:  # nothing could be read back: every row is encoded again
        resumed_from = 0
    return Encoded((yield from fill(model, read, n, device, memory, start, sizer)), (warning,), resumed_from)


def file_encodings(dataset: DatasetLike, latent_dim: int | None = None) -> Encodings | None:
    """The encodings a dataset of precomputed latents brings (None for any other dataset): mu
    and logvar from its file. The terms that need a point's image, recon and mse, are NaN (it
    has none); kl is that of its mu and logvar, and NaN with logvar (the posterior width is
    unknown: never guessed) when the file has no logvar. DatasetError when latent_dim is given
    and is not the latents' size."""
    if not isinstance(dataset, LatentsDataset):
        return None
    if latent_dim is not None:
        check_latent_size(dataset, latent_dim)
    n, d = dataset.mu.shape
    if dataset.terms is not None and dataset.logvar is not None:  # written by `vae-explorer encode`
        return Encodings(dataset.mu, dataset.logvar, **dataset.terms)
    unknown = np.full(n, np.nan, np.float32)
    if dataset.logvar is None:
        return Encodings(dataset.mu, np.full((n, d), np.nan, np.float32), unknown, unknown.copy(), unknown.copy())
    kl = np.empty(n, np.float32)
    for start in range(0, n, _KL_ROWS):  # float64 per block: exact enough, and bounded memory
        mu = np.asarray(dataset.mu[start : start + _KL_ROWS], np.float64)
        lv = np.asarray(dataset.logvar[start : start + _KL_ROWS], np.float64)
        part = 0.5 * (mu * mu + np.exp(lv) - 1 - lv).sum(1)  # as per_image_terms' kl (explorer_models.contract)
        kl[start : start + len(part)] = np.minimum(part, np.finfo(np.float32).max)
    return Encodings(dataset.mu, dataset.logvar, unknown, kl, unknown.copy())


def encode_steps(
    model: LatentModel,
    images: np.ndarray,
    device: torch.device | str = "cpu",
    target_seconds: float = 0.04,
    first_chunk: int = 32,
    max_chunk: int = 16384,
) -> Steps[Encodings]:
    """Encode an (N, H, W, C) uint8 array chunk by chunk, in memory; yields Progress after each
    chunk, returns Encodings."""
    n, d = len(images), model.latent_dim
    sizer = ChunkSizer(first_chunk, target_seconds, max_chunk)
    return (yield from fill(model, lambda a, b: images[a:b], n, device, _Memory(n, d), 0, sizer))


def encode_all(model: LatentModel, images: np.ndarray, device: torch.device | str = "cpu", **kwargs) -> Encodings:
    """encode_steps run to the end (for scripts and tests)."""
    return run_steps(encode_steps(model, images, device, **kwargs))


def encode_with_cache(
    model: LatentModel, dataset: DatasetLike, device: torch.device | str = "cpu", on_progress=None
) -> Encodings:
    """The dataset's encodings from the cache, or encoded now (and stored). For headless use:
    the window runs encode_dataset_steps on its worker instead, to stay responsive. A cache
    that cannot be written is silently skipped here; encode_dataset_steps reports it."""
    key = model_cache_key(model, dataset.fingerprint)
    return run_steps(encode_dataset_steps(model, dataset, device, key), on_progress).encodings


class _Memory:
    """Columns in memory."""

    def __init__(self, n: int, d: int, columns: dict[str, np.ndarray] | None = None):
        self.columns = empty_columns(n, d) if columns is None else columns

    def write(self, start: int, rows: dict[str, np.ndarray]) -> None:
        for c in COLUMNS:
            self.columns[c][start : start + len(rows[c])] = rows[c]

    def result(self) -> Encodings:
        return Encodings(**self.columns)


class _CacheFailed(Exception):
    """The store refused a write at row `start` (every row before it is in the store)."""

    def __init__(self, error: OSError, start: int):
        super().__init__(str(error))
        self.error, self.start = error, start

    def salvage(self, writer: StoreWriter, n: int, d: int) -> tuple[_Memory, int]:
        """In-memory columns holding what the store has, and the row to go on from (0 when
        nothing can be read back)."""
        memory = _Memory(n, d)
        try:
            memory.write(0, writer.read(self.start))  # through the open files
            return memory, self.start
        except (OSError, ValueError):  # ValueError: the files were closed by finish()
            pass
        found = open_complete(writer.folder, n) if self.start == n else None  # complete, not renamed
        if found is None:
            return memory, 0
        return _Memory(n, d, {c: getattr(found, c) for c in COLUMNS}), n


class _Stored:
    """Columns written to the store as they come; a refusal of the disk raises _CacheFailed."""

    def __init__(self, writer: StoreWriter):
        self.writer = writer

    def write(self, start: int, rows: dict[str, np.ndarray]) -> None:
        try:
            self.writer.write(start, rows)
        except OSError as e:
            raise _CacheFailed(e, start) from e

    def result(self) -> Encodings:
        n = self.writer.n
        try:
            final = self.writer.finish()
        except OSError as e:
            raise _CacheFailed(e, n) from e
        encodings = open_complete(final, n)
        if encodings is None:
            raise _CacheFailed(OSError(f"{final}: the store just written cannot be read back"), n)
        return encodings
