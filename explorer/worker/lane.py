"""One long-lived thread that runs tasks a step at a time: the engine under both worker threads.

A task is a generator of short steps (a chunk of images, a chunk of latents). Between two steps
the lane picks the most urgent task again, so a cursor decode waits at most one step behind an
encoding or a grid. A task submitted with `replaces=True` takes the place of a pending task of
the same kind (latest wins: a half-decoded grid nobody wants any more is dropped between two
chunks). Cancelling, or dropping an old generation, closes the generator between steps (its
`finally` blocks run, e.g. a store flushes what it wrote).

Errors never end the thread: a task that raises becomes a `Failed` result, and a result callback
that raises is logged. Qt-free: results go to `on_result`, called on the lane's thread.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass

from explorer.core.steps import Progress
from explorer.worker.requests import Cancelled, Failed, Finished, Job, Progressed, Result, Slot
from explorer_models.errors import UserInputError

log = logging.getLogger(__name__)

EVERY_GENERATION = 2**62  # the generation of housekeeping that no model or dataset change drops
Start = Callable[[], Generator]  # called on the lane's thread; yields Progress or None per step
Finish = Callable[["Task", object], Result | None]  # (task, what its generator returned) -> its result


def finished(task: Task, value: object) -> Result:
    return Finished(task.request_id, task.generation, task.what, value)


@dataclass(eq=False)
class Task:
    request_id: int
    generation: int
    what: Slot | Job
    priority: int  # lower runs first; ties go first come, first served
    start: Start
    finish: Finish
    replaces: bool
    steps: Generator | None = None
    cancelled: bool = False

    def close(self) -> None:
        if self.steps is not None:
            self.steps.close()


def lower_priority(nice: int) -> None:
    """Make the calling thread `nice` steps nicer. Linux schedules each thread on its own, so
    on a busy machine the GUI thread then runs before a worker that wants the same core (a
    map build on a 2-core machine otherwise starves the window for tens of milliseconds).
    Elsewhere, or when the system refuses, the thread keeps its priority."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError as e:
        log.info("could not lower the priority of %s: %s", threading.current_thread().name, e)


class Lane:
    def __init__(self, name: str, on_result: Callable[[Result], None], nice: int = 0):
        self.name = name
        self._nice = nice
        self._on_result = on_result
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._tasks: list[Task] = []
        self._running: Task | None = None
        self._oldest_generation = 0  # tasks of older generations are dropped unrun
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # -- any thread ----------------------------------------------------------------------------
    def submit(
        self,
        what: Slot | Job,
        start: Start,
        generation: int,
        *,
        priority: int,
        replaces: bool,
        finish: Finish | None = None,
    ) -> int:
        with self._cond:
            request_id = next(self._ids)
            if replaces:
                self._drop(lambda t: t.what == what)
            if generation >= self._oldest_generation:
                self._tasks.append(Task(request_id, generation, what, priority, start, finish or finished, replaces))
            self._cond.notify_all()
        return request_id

    def cancel(self, request_id: int) -> None:
        """A job answers `Cancelled` at its next step boundary (a decode is simply dropped)."""
        with self._cond:
            for task in self._tasks:
                if task.request_id == request_id:
                    task.cancelled = True
            self._cond.notify_all()

    def drop_older(self, generation: int) -> None:
        """Forget every task of a generation before `generation`, now and when submitted later:
        they were asked about a model or dataset that is gone."""
        with self._cond:
            self._oldest_generation = max(self._oldest_generation, generation)
            self._drop(lambda t: t.generation < generation)
            self._cond.notify_all()

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Block until no task is pending or running (tests and scripts; never the GUI)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._tasks and self._running is None, timeout)

    def stop(self, timeout: float = 5.0) -> bool:
        """Finish the step in progress, close the rest, end the thread. True if it ended."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _drop(self, which: Callable[[Task], bool]) -> None:
        """Remove matching tasks (lock held). The one running a step is marked and closed by
        the lane's thread once that step returns."""
        for task in [t for t in self._tasks if which(t)]:
            self._tasks.remove(task)
            if task is self._running:
                task.cancelled = True
                task.replaces = True  # dropped silently, not answered Cancelled
            else:
                task.close()

    # -- the lane's thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        lower_priority(self._nice)
        while True:
            with self._cond:
                self._running = None
                self._cond.notify_all()
                while not (self._stopping or self._tasks):
                    self._cond.wait()
                if self._stopping:
                    for task in self._tasks:
                        task.close()
                    self._tasks.clear()
                    self._cond.notify_all()
                    return
                task = min(self._tasks, key=lambda t: t.priority)  # min keeps the first of equals
                self._running = task
            try:
                self._step(task)
            except Exception:  # a fault of the lane itself: log it, drop the task, keep serving
                log.exception("%s: a step of %s broke the lane's bookkeeping", self.name, task.what)
                with self._cond:
                    if task in self._tasks:
                        self._tasks.remove(task)

    def _step(self, task: Task) -> None:
        if task.cancelled:
            self._end(task)
            if not task.replaces:  # dropped tasks are not answered
                self._deliver(Cancelled(task.request_id, task.generation, task.what))
            return
        try:
            if task.steps is None:
                task.steps = task.start()
            progress = next(task.steps)
        except StopIteration as done:
            self._end(task)
            result = task.finish(task, done.value)
            if result is not None:  # housekeeping tasks answer nothing
                self._deliver(result)
            return
        except Exception as e:  # a user's model or file can fail any way: report it, keep serving
            self._end(task)
            message = str(e) if isinstance(e, UserInputError) else f"{type(e).__name__}: {e}"
            details = traceback.format_exc()
            log.warning("%s failed: %s\n%s", task.what, message, details)
            error = e if isinstance(e, UserInputError) else None
            self._deliver(Failed(task.request_id, task.generation, task.what, message, details, error))
            return
        with self._cond:
            dropped = task.cancelled and task.replaces
        if dropped:
            self._end(task)
        elif isinstance(progress, Progress) and not isinstance(task.what, Slot):
            self._deliver(Progressed(task.request_id, task.generation, task.what, progress))

    def _end(self, task: Task) -> None:
        with self._cond:
            if task in self._tasks:
                self._tasks.remove(task)
        task.close()

    def _deliver(self, result: Result) -> None:
        try:
            self._on_result(result)
        except Exception:  # the receiver's bug must not end the thread that serves it
            log.exception("the result callback failed on %s", type(result).__name__)


class LaneWorker:
    """What both worker threads offer beside their own requests: forgetting old generations,
    waiting until idle, stopping. Subclasses set `self._lane`."""

    _lane: Lane

    def drop_older(self, generation: int) -> None:
        self._lane.drop_older(generation)

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        return self._lane.wait_until_idle(timeout)

    def stop(self, timeout: float = 5.0) -> bool:
        return self._lane.stop(timeout)

    @property
    def alive(self) -> bool:
        return self._lane.alive
