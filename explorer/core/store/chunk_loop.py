"""The chunk loop every encoding runs (encoding.py): chunks sized to ~40 ms (or fixed, for
shards), the next chunk read and sent to the device while the model works on this one, a
device out of memory answered with smaller chunks, and latents that are not numbers refused.
Rows go to a sink (the store, or memory) that encoding.py provides.

Images read from a memory-mapped file (an .npy, a large folder decoded into the cache) have
their pages let go once the chunk is on the device (release_pages), so a streaming encode holds
about one chunk of the file however large it is: otherwise every page read stays in this
process's resident memory until the map is closed, and a batch scheduler that counts RSS
(SLURM) would see the whole dataset."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress

import numpy as np
import torch

from explorer.core.steps import Progress, Steps
from explorer.core.store.latents import Encodings
from explorer.core.store.mapped_pages import release_pages
from explorer_models.errors import UserInputError
from explorer_models.evaluation import per_image_terms
from explorer_models.vae import LatentModel, images_to_tensor


# -- the chunk loop -----------------------------------------------------------------------------
class ChunkSizer:
    """Aim each chunk at target_seconds: short enough to serve a cursor decode between chunks,
    long enough to keep the device busy."""

    def __init__(self, first: int, target_seconds: float, most: int, fixed: bool = False):
        self.size, self.target, self.most, self.fixed = first, target_seconds, most, fixed

    def halve(self, tried: int) -> None:
        """The device ran out of memory on `tried` images: the next chunks are half that, for good."""
        self.size = self.most = max(tried // 2, 1)

    def took(self, seconds: float) -> None:
        if self.fixed:
            return
        elapsed = max(seconds, 1e-6)
        self.size = int(
            np.clip(self.size * self.target / elapsed, max(self.size // 2, 8), min(self.size * 2, self.most))
        )


def fill(
    model: LatentModel,
    read: Callable[[int, int], np.ndarray],
    n: int,
    device: torch.device | str,
    sink,
    start: int,
    sizer: ChunkSizer,
) -> Steps[Encodings]:
    """Encode rows [start, n) into `sink` (its write(start, rows) and result()), chunk by chunk.
    The next chunk is read and sent to the device on a helper thread while the model works on
    this one (ReadAhead). A device out of memory halves the chunk and tries again, down to one
    image; the model's NaN or infinite latents stop it with the data point named."""
    with ReadAhead(read, device) as ahead:
        ahead.ask(start, min(start + sizer.size, n))
        while start < n:
            t0 = time.perf_counter()
            stop, loading = ahead.take()
            try:
                x = loading.result()
                if stop < n:
                    ahead.ask(stop, min(stop + sizer.size, n))
                rows = _terms(model, x)
            except (torch.cuda.OutOfMemoryError, RuntimeError) as e:
                if not _out_of_memory(e):
                    raise
                x = None
                ahead.drop()
                if stop - start == 1:
                    raise EncodingError(
                        f"{_model_name(model)}: {device} ran out of memory encoding even one image at a time; "
                        f"free the device or use --device cpu"
                    ) from None
                sizer.halve(stop - start)
                _empty_cache(device)
                ahead.ask(start, min(start + sizer.size, n))
                continue
            _check_finite(model, rows, start)
            sink.write(start, rows)
            sizer.took(time.perf_counter() - t0)
            start = stop
            yield Progress(start, n, "encoding")
    return sink.result()


class ReadAhead:
    """Reads a chunk of images and sends it to the device (as uint8, converted there) on one
    helper thread, so that the copy of chunk k+1 overlaps the model's work on chunk k. Used as a
    context manager: the thread is joined when the encoding ends, is cancelled or fails."""

    def __init__(self, read: Callable[[int, int], np.ndarray], device):
        self.read, self.device = read, device
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="vae-explorer-read-ahead")
        self.asked: list[tuple[int, Future]] = []

    def ask(self, start: int, stop: int) -> None:
        self.asked.append((stop, self.pool.submit(self._load, start, stop)))

    def _load(self, start: int, stop: int) -> torch.Tensor:
        images = self.read(start, stop)
        x = images_to_tensor(images, self.device)  # a copy: the file's pages are no longer needed
        release_pages(images)
        return x

    def take(self) -> tuple[int, Future]:
        """(stop, the loading of its images) of the oldest chunk asked for."""
        return self.asked.pop(0)

    def drop(self) -> None:
        """Forget what was asked for (the device ran out of memory: it is asked again smaller)."""
        for _stop, future in self.asked:
            future.cancel()
            with suppress(Exception):
                future.result()
        self.asked.clear()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.drop()
        self.pool.shutdown(wait=True)


class EncodingError(UserInputError):
    """The model cannot encode the data: out of device memory, or latents that are not numbers."""


def _terms(model: LatentModel, x: torch.Tensor) -> dict[str, np.ndarray]:
    return {k: v.cpu().numpy() for k, v in per_image_terms(model, x, sample=False).items()}


def _check_finite(model: LatentModel, rows: dict[str, np.ndarray], start: int) -> None:
    for column in ("mu", "logvar"):
        bad = ~np.isfinite(rows[column]).all(axis=1)
        if bad.any():
            raise EncodingError(
                f"{_model_name(model)}: encode() gave NaN or infinite {column} for data point "
                f"{start + int(np.argmax(bad)):,} ({int(bad.sum()):,} of a batch of {len(bad):,})"
            )


def _out_of_memory(e: Exception) -> bool:
    """CUDA's OutOfMemoryError, or the RuntimeError other devices (MPS) raise for the same."""
    return isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in str(e).lower()


def _model_name(model: LatentModel) -> str:
    return f"model {model.info.source or model.info.name}"


def _empty_cache(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()
