"""The state's runner in the window: each piece of the state's work goes to its thread, and its
answer is applied on the GUI thread.

Two threads take the state's work (explorer/core/state/compute.py). The compute thread runs
map builds, colourings, searches, rasters, neighbours and vectors; the newest request of a kind
wins. The fit thread runs UMAP and t-SNE fits (Work.FIT), which take seconds to minutes: on a
thread of their own they hold none of that up, and the map shown stays usable. A fit reports
its progress (the window's progress bar), stops at the bar's Cancel, and is superseded by any
other map asked for meanwhile; a fit cancelled or superseded changes nothing in the state.

Qt-free: results reach `answer` on the GUI thread through the controller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from explorer.core.state.compute import STEPPED, SUPERSEDES, Work
from explorer.worker.compute import ComputeWorker, FitWorker, one_step
from explorer.worker.requests import Failed, Finished, Progressed, Result


@dataclass(frozen=True)
class _Fit:
    request_id: int
    generation: int
    done: Callable


class WorkRunner:
    """Holds what to do with each answer still to come, and the fit under way (its progress is
    the window's progress bar while it runs)."""

    def __init__(
        self,
        state,
        deliver: Callable[[Result], None],
        progress: Callable[[int, int, str], None],
        failed: Callable[[Failed], None],
        fit_stopped: Callable[[], None],
    ):
        """`deliver` takes the threads' results (to hand them to `answer` on the GUI thread);
        `progress(done, total, what)` shows a fit's progress ("" for what: it ended);
        `failed` shows a failure; `fit_stopped()`: a fit ended without a map (cancelled, failed)."""
        self.state = state
        self.compute = ComputeWorker(deliver)
        self.fits = FitWorker(deliver)
        self._progress, self._failed, self._fit_stopped = progress, failed, fit_stopped
        self._done: dict[int, Callable] = {}  # compute request -> what to do with its answer
        self._newest: dict[Work, int] = {}
        self._unanswered: dict[int, int] = {}  # compute request -> generation
        self._fit: _Fit | None = None  # the fit under way, the one whose progress is shown

    # -- asking --------------------------------------------------------------------------------
    def run(self, work: Work, compute: Callable, done: Callable) -> None:
        """The state's runner: newest request of a kind wins."""
        self.submit(work, compute if work in STEPPED else one_step(compute), done, replaces=True)

    def submit(self, work: Work, start: Callable, done: Callable, replaces: bool) -> None:
        """Run the generator start() gives on the work's thread, a step at a time; done(its value).
        With `replaces`, it takes the place of a pending request of its kind (a fit always does)."""
        if Work.FIT in SUPERSEDES.get(work, ()):
            self.cancel_fit(tell=False)
        generation = self.state.generation
        if work is Work.FIT:  # the fit thread: a newer fit replaces the one under way
            request_id = self.fits.submit_steps(work, start, generation)
            self._fit = _Fit(request_id, generation, done)
            self._progress(0, 0, work.value)  # at once: its first step may take a while to report
            return
        request_id = self.compute.submit_steps(work, start, generation, replaces=replaces)
        if replaces and work in self._newest:  # a replaced request never answers
            older = self._newest[work]
            self._done.pop(older, None)
            self._unanswered.pop(older, None)
        self._newest[work] = request_id
        self._done[request_id] = done
        self._unanswered[request_id] = generation

    def cancel_fit(self, tell: bool = True) -> None:
        """Stop the fit under way, if any (the fit thread stops it at its next report); the map
        shown stays. Its late answer is ignored. With `tell`, the user is told."""
        fit, self._fit = self._fit, None
        if fit is None:
            return
        self.fits.cancel(fit.request_id)
        self._progress(0, 0, "")
        if tell:
            self.state.say("map fit cancelled: the map shown stays")
            self._fit_stopped()

    # -- answers (GUI thread) ------------------------------------------------------------------
    def answered(self, r: Result) -> None:
        """Bookkeeping for any answer of the compute thread, of whatever generation."""
        if not isinstance(r, Progressed) and _kind(r) is not Work.FIT:
            self._unanswered.pop(r.request_id, None)

    def answer(self, r: Result) -> None:
        """Apply an answer of the state's generation."""
        if _kind(r) is Work.FIT:
            self._answer_fit(r)
            return
        if isinstance(r, Progressed):  # a stepped piece of work's report: its answer is still to come
            return
        done = self._done.pop(r.request_id, None)
        if isinstance(r, Failed):
            self._failed(r)
        elif isinstance(r, Finished) and done is not None:
            done(r.value)

    def _answer_fit(self, r: Result) -> None:
        fit = self._fit
        if fit is None or r.request_id != fit.request_id:
            return  # cancelled or replaced: nothing it says changes the state
        if isinstance(r, Progressed):
            self._progress(r.progress.done, r.progress.total, r.progress.what)
            return
        self._fit = None
        self._progress(0, 0, "")
        if isinstance(r, Finished):
            fit.done(r.value)
            return
        if isinstance(r, Failed):
            self._failed(r)
        self._fit_stopped()

    def forget_older(self, generation: int) -> None:
        """A new model or dataset is in: work asked about older ones is dropped (by both threads)."""
        self.compute.drop_older(generation)
        self.fits.drop_older(generation)
        self._unanswered = {i: g for i, g in self._unanswered.items() if g >= generation}
        self._done = {i: d for i, d in self._done.items() if i in self._unanswered}
        if self._fit is not None and self._fit.generation < generation:
            self._fit = None
            self._progress(0, 0, "")

    # -- lifetime ------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        """Every request made has been answered."""
        return not self._unanswered and self._fit is None

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        return self.compute.wait_until_idle(timeout) and self.fits.wait_until_idle(timeout)

    def stop(self) -> bool:
        """Stop a fit under way and end both threads (each within one step of its work)."""
        self.cancel_fit(tell=False)
        return all([self.compute.stop(), self.fits.stop()])


def _kind(r: Result):
    return r.what if isinstance(r, Failed) else r.job
