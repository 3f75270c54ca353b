"""Long work as a generator of short steps, so a caller can show progress, cancel between
steps and (the window's worker) serve other requests in between.

A step function yields Progress after each short piece of work and returns its result:
    result = yield from other_steps(...)   # inside another step function
    result = run_steps(steps, on_progress)  # from plain code (scripts, the CLI, tests)
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    what: str = "encoding"  # what is being done, for a progress bar's text ("rendering faces")


Steps = Generator[Progress | None, None, T]  # None: a step with nothing new to report


def run_steps(steps: Steps[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Run a step function to the end; its result."""
    while True:
        try:
            progress = next(steps)
        except StopIteration as done:
            return done.value
        if on_progress is not None and progress is not None:  # a step may report nothing
            on_progress(progress)
