"""The fit thread (issue 13): UMAP and t-SNE fits run beside the compute thread, report progress,
stop at a cancel or when a newer fit replaces them. Gates (threading.Event) order things; no sleeps."""

import os
import sys
import threading

import pytest

from explorer.core.maps.fits import hooked_steps
from explorer.core.state.compute import Work
from explorer.core.steps import Progress
from explorer.worker.compute import COMPUTE_NICE, FIT_NICE, ComputeWorker, FitWorker
from explorer.worker.requests import Finished, Progressed


class HeldFit:
    """A fit of three steps whose second waits for `gate`; it records how far it got."""

    def __init__(self, name="fit"):
        self.name, self.gate, self.started = name, threading.Event(), threading.Event()
        self.ran, self.closed = [], False

    def start(self):
        try:
            for i in range(3):
                yield Progress(i, 3, f"fitting {self.name}")
                if i == 1:
                    self.started.set()
                    self.gate.wait(10)
                self.ran.append(i)
            return self.name
        except GeneratorExit:
            self.closed = True
            raise


@pytest.fixture
def fits(results):
    got = results()
    worker = FitWorker(got)
    yield worker, got
    assert worker.stop()


def test_while_a_fit_is_held_the_compute_thread_answers(fits, results):
    worker, _ = fits
    fit = HeldFit()
    got = results()
    compute = ComputeWorker(got)
    try:
        worker.submit_steps(Work.FIT, fit.start, 1)
        assert fit.started.wait(10)
        asked = compute.submit(Work.COLOURING, lambda: "coloured", 1)
        r = got.next(Finished)
        assert (r.request_id, r.value) == (asked, "coloured") and not fit.gate.is_set() and fit.ran == [0]
    finally:
        fit.gate.set()
        assert compute.stop()


def test_a_cancelled_fit_stops_between_two_steps_answers_nothing_more_and_the_next_one_runs(fits):
    worker, got = fits
    fit = HeldFit()
    held = worker.submit_steps(Work.FIT, fit.start, 1)
    assert fit.started.wait(10)
    worker.cancel(held)
    fit.gate.set()
    assert worker.wait_until_idle(10)
    answers = [(type(r), getattr(r, "progress", None)) for r in got.all()]
    assert answers == [(Progressed, Progress(0, 3, "fitting fit")), (Progressed, Progress(1, 3, "fitting fit"))]
    assert fit.closed and fit.ran == [0, 1]  # the step under way ended; the third never ran
    nxt = HeldFit("next")
    nxt.gate.set()
    asked = worker.submit_steps(Work.FIT, nxt.start, 1)
    r = got.next(Finished)
    assert (r.request_id, r.value) == (asked, "next")


def test_a_newer_fit_replaces_the_one_under_way_which_never_answers(fits):
    worker, got = fits
    old, new = HeldFit("old"), HeldFit("new")
    replaced = worker.submit_steps(Work.FIT, old.start, 1)
    assert old.started.wait(10)
    newer = worker.submit_steps(Work.FIT, new.start, 1)
    new.gate.set()
    old.gate.set()
    r = got.next(Finished)
    assert (r.request_id, r.value) == (newer, "new")
    assert worker.wait_until_idle(10)
    late = [r for r in got.all() if r.request_id == replaced and not isinstance(r, Progressed)]
    assert late == [] and old.closed and old.ran == [0, 1]


def test_only_fits_go_to_the_fit_thread(fits):
    worker, _ = fits
    with pytest.raises(ValueError, match="runs fits"):
        worker.submit_steps(Work.COLOURING, HeldFit().start, 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have their own niceness only on Linux")
def test_the_fit_thread_and_a_fits_helper_run_nicer_than_the_compute_thread(fits):
    worker, got = fits
    seen = {}

    def niceness(where):
        seen[where] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def run(report):
        niceness("helper")
        report(1, 1, "fitting")

    def start():
        niceness("lane")
        return (yield from hooked_steps(run, "vae-explorer-fit-test"))

    worker.submit_steps(Work.FIT, start, 1)
    assert isinstance(got.next(Finished), Finished)
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert FIT_NICE >= COMPUTE_NICE
    assert seen == {"lane": min(19, here + FIT_NICE), "helper": min(19, here + FIT_NICE)}
