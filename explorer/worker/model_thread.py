"""The one place the explorer calls a model: a long-lived thread that owns it on its device.

Requests carry increasing ids. Per decode *slot* ("cursor", "nearest", ...) only the newest
pending request is kept: a new one replaces a pending one that has not started (latest wins),
and the one running is never interrupted. Long jobs (encoding a dataset) are generators run
one step (one chunk) at a time, and pending decodes go first between steps, so hovering
stays live while a dataset encodes. Errors become results; the thread survives them.

Qt-free: results go to `on_result`, called on the worker thread. The window passes a
callback that emits a Qt signal, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from models.device import describe_device, resolve_device
from models.errors import UserInputError
from models.vae import LatentModel, decode_images

# Decode slots are served in this order when several are pending; unknown slots come last.
SLOT_PRIORITY = ("cursor", "nearest", "posterior", "prior", "neighbours", "strip")

DECODED, PROGRESS, DONE, CANCELLED, ERROR, READY = "decoded", "progress", "done", "cancelled", "error", "ready"


@dataclass(frozen=True)
class Result:
    request_id: int
    slot: str
    kind: str  # one of DECODED, PROGRESS, DONE, CANCELLED, ERROR, READY
    value: Any = None
    error: str = ""


@dataclass
class _Job:
    request_id: int
    slot: str
    start: Callable[[Any, torch.device], Generator]  # (model, device) -> steps
    steps: Generator | None = None
    cancelled: bool = False


@dataclass
class _Decode:
    request_id: int
    slot: str
    latents: np.ndarray


@dataclass
class _Load:
    request_id: int
    load: Callable[[], LatentModel]


@dataclass
class _Queue:
    loads: deque = field(default_factory=deque)
    decodes: dict[str, _Decode] = field(default_factory=dict)
    jobs: deque = field(default_factory=deque)

    def __bool__(self) -> bool:
        return bool(self.loads or self.decodes or self.jobs)


class ModelWorker:
    def __init__(self, on_result: Callable[[Result], None], device: str = "auto"):
        self._on_result = on_result
        self._device_choice = device
        self.device: torch.device | None = None
        self.model: LatentModel | None = None
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._queue = _Queue()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="vae-explorer-model", daemon=True)
        self._thread.start()

    # -- requests (any thread) ------------------------------------------------------------
    def load_model(self, load: Callable[[], LatentModel]) -> int:
        """Load a model on the worker (file I/O too stays off the GUI thread); READY or ERROR."""
        return self._put(lambda rid: self._queue.loads.append(_Load(rid, load)))

    def decode(self, latents: np.ndarray, slot: str = "cursor") -> int:
        """Decode (B, D) or (D,) latents; replaces a pending decode in the same slot."""
        latents = np.atleast_2d(np.array(latents, np.float32))  # a copy the caller cannot change later
        return self._put(lambda rid: self._queue.decodes.__setitem__(slot, _Decode(rid, slot, latents)))

    def run_job(self, start: Callable[[Any, torch.device], Generator], slot: str = "job") -> int:
        """Run start(model, device) step by step: PROGRESS per yield, then DONE with its value."""
        return self._put(lambda rid: self._queue.jobs.append(_Job(rid, slot, start)))

    def cancel(self, request_id: int) -> None:
        with self._cond:
            for job in self._queue.jobs:
                if job.request_id == request_id:
                    job.cancelled = True
            self._cond.notify()

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the step in progress, drop the rest, end the thread. True if it ended."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _put(self, add: Callable[[int], None]) -> int:
        with self._cond:
            rid = next(self._ids)
            add(rid)
            self._cond.notify()
        return rid

    # -- the worker thread ----------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not (self._stopping or self._queue):
                    self._cond.wait()
                if self._stopping:
                    return
                task = self._next_task()
            self._run(task)

    def _next_task(self):
        q = self._queue
        if q.loads:
            return q.loads.popleft()
        if q.decodes:
            order = {s: i for i, s in enumerate(SLOT_PRIORITY)}
            slot = min(q.decodes, key=lambda s: order.get(s, len(order)))
            return q.decodes.pop(slot)
        return q.jobs[0]  # stays queued until it finishes or is cancelled

    def _run(self, task) -> None:
        if isinstance(task, _Load):
            self._guarded(task.request_id, "model", lambda: self._load(task))
        elif isinstance(task, _Decode):
            self._guarded(task.request_id, task.slot, lambda: self._decode(task))
        else:
            self._step(task)

    def _guarded(self, request_id: int, slot: str, work: Callable[[], Result]) -> None:
        try:
            result = work()
        except UserInputError as e:
            result = Result(request_id, slot, ERROR, error=str(e))
        except Exception as e:  # a user's model can fail any way; report it, keep serving
            result = Result(request_id, slot, ERROR, error=f"{type(e).__name__}: {e}", value=traceback.format_exc())
        self._on_result(result)

    def _load(self, task: _Load) -> Result:
        device = resolve_device(self._device_choice)
        model = task.load()
        if isinstance(model, torch.nn.Module):
            model = model.to(device).eval()
        self.model, self.device = model, device
        return Result(task.request_id, "model", READY, value=(model, describe_device(device)))

    def _require_model(self) -> LatentModel:
        if self.model is None:
            raise UserInputError("no model is loaded")
        return self.model

    def _decode(self, task: _Decode) -> Result:
        images = decode_images(self._require_model(), task.latents, self.device)
        return Result(task.request_id, task.slot, DECODED, value=(task.latents, images))

    def _step(self, job: _Job) -> None:
        def finish(result: Result) -> None:
            with self._cond:
                if self._queue.jobs and self._queue.jobs[0] is job:
                    self._queue.jobs.popleft()
            self._on_result(result)

        if job.cancelled:
            return finish(Result(job.request_id, job.slot, CANCELLED))
        try:
            if job.steps is None:
                job.steps = job.start(self._require_model(), self.device)
            progress = next(job.steps)
        except StopIteration as done:
            return finish(Result(job.request_id, job.slot, DONE, value=done.value))
        except Exception as e:
            error = str(e) if isinstance(e, UserInputError) else f"{type(e).__name__}: {e}"
            return finish(Result(job.request_id, job.slot, ERROR, error=error, value=traceback.format_exc()))
        self._on_result(Result(job.request_id, job.slot, PROGRESS, value=progress))
