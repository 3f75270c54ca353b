"""The one place the explorer calls a model: a long-lived thread that owns it on its device.

Served in this order, a step at a time: a model load, then decodes by slot (cursor first; a
new decode replaces a pending one in its slot), then jobs (opening and encoding a dataset)
first come, first served. A strip or grid decodes a batch of DECODE_CHUNK latents per step, and a job
advances one chunk per step, so a cursor decode waits at most one chunk.

Once a model of generation g is loaded, every task of an older generation is dropped: a
decode of the old model's latents never reaches the new one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Sequence

import numpy as np
import torch

from explorer.core.store import mapped_pages
from explorer.worker import native_memory
from explorer.worker.lane import EVERY_GENERATION, Lane, LaneWorker
from explorer.worker.requests import Decoded, Job, LoadedModel, Result, Slot
from explorer_models.device import describe_device, resolve_device
from explorer_models.errors import UserInputError
from explorer_models.vae import DECODE_CHUNK, LatentModel, decode_images

MODEL_NICE = 5  # the GUI thread runs first when the cores are busy (lane.lower_priority)
MODEL_PRIORITY, DECODE_PRIORITY, TIDY_PRIORITY, JOB_PRIORITY = -1, 0, 50, 100


def cpu_threads() -> int:
    """torch's threads when the model runs on the CPU beside the window: one core is left to the
    GUI and compute threads. On 2 busy cores a one-image decode took 47 ms (p50) with 2 torch
    threads and 1.8 ms with 1, which also encoded faster there (benchmarks/latency.py)."""
    return max(1, (os.cpu_count() or 2) - 1)


JobStart = Callable[[LatentModel, torch.device], Generator]  # (model, device) -> steps


class ModelWorker(LaneWorker):
    def __init__(self, on_result: Callable[[Result], None], device: str = "auto"):
        self._device_choice = device
        native_memory.bound_model_caches()  # before this process's first convolution
        self.device: torch.device | None = None
        self.model: LatentModel | None = None
        self._lane = Lane("vae-explorer-model", on_result, nice=MODEL_NICE)

    # -- requests (any thread) ------------------------------------------------------------
    def load_model(self, load: Callable[[], LatentModel], generation: int) -> int:
        """Load a model on the worker (file I/O too stays off the GUI thread). Answers
        Finished(MODEL, LoadedModel) or Failed; tasks of older generations are dropped then."""

        def start():
            device = resolve_device(self._device_choice)
            if device.type == "cpu":
                torch.set_num_threads(cpu_threads())
            model = load()
            if isinstance(model, torch.nn.Module):
                model = model.to(device).eval()
            self.model, self.device = model, device
            self._lane.drop_older(generation)
            return LoadedModel(model, device, describe_device(device))
            yield  # one step

        return self._lane.submit(Job.MODEL, start, generation, priority=MODEL_PRIORITY, replaces=False)

    def decode(self, latents: np.ndarray, slot: Slot, generation: int) -> int:
        """Decode (B, D) or (D,) latents; replaces a pending decode in the same slot."""
        latents = np.atleast_2d(np.array(latents, np.float32))  # a copy the caller cannot change later

        return self._lane.submit(
            slot,
            lambda: self._decode_steps(latents),
            generation,
            priority=DECODE_PRIORITY + slot.rank,
            replaces=True,
            finish=lambda task, images: Decoded(task.request_id, task.generation, slot, latents, images),
        )

    def release_memory(self, mapped: Sequence[np.ndarray] = ()) -> None:
        """Give the memory freed by now back to the system once the pending decodes are served
        (no answer), and the pages read so far of the `mapped` arrays (memory-mapped files).
        Asked after a large decode's images have replaced the old ones."""

        def start():
            native_memory.release_free_memory()
            mapped_pages.release_mappings(mapped)
            return None
            yield

        self._lane.submit(
            Job.TIDY, start, EVERY_GENERATION, priority=TIDY_PRIORITY, replaces=True, finish=lambda task, value: None
        )

    def run_job(self, job: Job, start: JobStart, generation: int) -> int:
        """Run start(model, device) step by step: Progressed per yielded Progress, then Finished."""
        return self._lane.submit(
            job, lambda: start(self._require_model(), self.device), generation, priority=JOB_PRIORITY, replaces=False
        )

    def cancel(self, request_id: int) -> None:
        self._lane.cancel(request_id)

    # -- on the worker thread ---------------------------------------------------------------
    def _require_model(self) -> LatentModel:
        if self.model is None:
            raise UserInputError("no model is loaded")
        return self.model

    def _decode_steps(self, latents: np.ndarray) -> Generator[None, None, np.ndarray]:
        """Decode a batch of DECODE_CHUNK per step (one step for a cursor): the same batches as
        decode_images, so the window's strip has the CLI's pixels."""
        model, parts = self._require_model(), []
        for start in range(0, len(latents), DECODE_CHUNK):
            if start:
                yield  # between two batches: a cursor decode goes first
            parts.append(decode_images(model, latents[start : start + DECODE_CHUNK], self.device))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
