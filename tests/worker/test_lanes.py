"""The lanes under both worker threads: generations, chunked decodes, errors that never end a
thread, cancelling, and waiting until idle. Gates (threading.Event) order things; no sleeps."""

import os
import sys
import threading

import numpy as np
import pytest

from explorer.core.data import Dataset
from explorer.core.state.compute import Work
from explorer.worker import model_thread as w
from explorer.worker.compute import ComputeWorker
from explorer.worker.lane import Lane
from explorer.worker.requests import Decoded, Failed, Finished, Job, OpenedDataset, Slot


@pytest.fixture
def model_worker(fake_vae, results):
    made = []

    def make(model=None, generation=1):
        got = results()
        wk = w.ModelWorker(got, device="cpu")
        made.append(wk)
        wk.load_model(lambda: model or fake_vae(), generation)
        assert isinstance(got.next(), Finished)
        return wk, got

    yield make
    for wk in made:
        assert wk.stop()


def _held_job(gate: threading.Event, started: threading.Event):
    """A one-step job that holds the model thread until `gate` opens."""

    def start(model, device):
        started.set()
        gate.wait(10)
        return "held"
        yield

    return start


def _nothing():
    return None
    yield


def test_a_raising_result_callback_leaves_the_lane_serving():
    delivered, calls = [], []

    def on_result(r):
        calls.append(r)
        if len(calls) == 1:
            raise RuntimeError("a bug in the receiver")
        delivered.append(r)

    lane = Lane("test-lane", on_result)
    try:
        lane.submit(Work.MAP, _nothing, 1, priority=0, replaces=False)
        lane.submit(Work.MAP, _nothing, 1, priority=0, replaces=False)
        assert lane.wait_until_idle(10)
        assert lane.alive and len(calls) == 2 and len(delivered) == 1
    finally:
        assert lane.stop()


def test_a_raising_job_becomes_a_failed_result_and_the_worker_goes_on(model_worker):
    wk, got = model_worker()

    def broken(model, device):
        raise ValueError("no such column")
        yield

    rid = wk.run_job(Job.ENCODE, broken, 1)
    r = got.next(Failed)
    assert (r.request_id, r.what, r.message) == (rid, Job.ENCODE, "ValueError: no such column")
    assert "Traceback" in r.details
    wk.decode(np.zeros(4), Slot.CURSOR, 1)
    assert isinstance(got.next(), Decoded)


def test_tasks_of_an_older_generation_are_dropped_once_a_new_model_loads(model_worker, fake_vae):
    wk, got = model_worker(generation=1)
    gate, started = threading.Event(), threading.Event()
    wk.run_job(Job.ENCODE, _held_job(gate, started), 1)
    assert started.wait(10)
    wk.decode(np.zeros(4), Slot.CURSOR, 1)  # queued behind nothing but the running job's step
    wk.decode(np.zeros((3, 4)), Slot.STRIP, 1)
    wk.load_model(lambda: fake_vae(latent_dim=8), 2)  # a model of another latent size
    gate.set()
    assert wk.wait_until_idle(10)
    results = got.all()
    assert [type(r) for r in results] == [Finished, Finished]  # the held job, then the load
    assert results[1].job is Job.MODEL and results[1].generation == 2
    wk.decode(np.zeros(4), Slot.CURSOR, 1)  # asked about the old model after the switch: dropped
    new = wk.decode(np.zeros(8), Slot.CURSOR, 2)
    assert wk.wait_until_idle(10)
    (r,) = got.all()
    assert isinstance(r, Decoded) and r.request_id == new and r.latents.shape == (1, 8)


def test_a_strip_decodes_in_chunks_and_a_cursor_decode_goes_between_them(model_worker, fake_vae):
    gate = threading.Event()
    model = fake_vae(gate=gate)  # each decode call waits for the gate: the strip's first chunk is held
    wk, got = model_worker(model)
    wk.decode(np.zeros((1024, 4), np.float32), Slot.STRIP, 1)
    cursor = wk.decode(np.ones(4), Slot.CURSOR, 1)
    gate.set()
    first = got.next(Decoded)
    strip = got.next(Decoded)
    assert first.request_id == cursor and first.slot is Slot.CURSOR
    assert strip.slot is Slot.STRIP and strip.images.shape[0] == 1024
    assert model.decoded_batches > 2  # the strip went in several chunks


def test_a_newer_strip_replaces_one_half_decoded(model_worker, fake_vae):
    gate = threading.Event()
    model = fake_vae(gate=gate)
    wk, got = model_worker(model)
    old = wk.decode(np.zeros((64, 4), np.float32), Slot.STRIP, 1)
    new = wk.decode(np.ones((5, 4), np.float32), Slot.STRIP, 1)
    gate.set()
    assert wk.wait_until_idle(10)
    decoded = [r for r in got.all() if isinstance(r, Decoded)]
    assert decoded[-1].request_id == new and np.all(decoded[-1].latents == 1)
    assert all(r.request_id in (old, new) for r in decoded) and len(decoded) <= 2


def test_compute_work_newest_wins_and_failures_are_results(results):
    got = results()
    compute = ComputeWorker(got)
    gate, holding = threading.Event(), threading.Event()
    try:
        compute.submit(Work.VECTORS, lambda: (holding.set(), gate.wait(10)), 1, replaces=False)
        assert holding.wait(10)  # the thread is held: what comes next waits in the queue
        compute.submit(Work.MAP, lambda: "old map", 1)
        newest = compute.submit(Work.MAP, lambda: "new map", 1)
        failing = compute.submit(Work.COLOURING, lambda: 1 / 0, 1)
        gate.set()
        assert compute.wait_until_idle(10)
        results = {r.request_id: r for r in got.all()}
        assert results[newest].value == "new map" and "old map" not in [
            getattr(r, "value", None) for r in results.values()
        ]
        assert isinstance(results[failing], Failed) and results[failing].message.startswith("ZeroDivisionError")
        assert compute.alive
    finally:
        assert compute.stop()


def test_wait_until_idle_is_false_while_work_is_held(model_worker):
    wk, _ = model_worker()
    gate, started = threading.Event(), threading.Event()
    wk.run_job(Job.ENCODE, _held_job(gate, started), 1)
    assert started.wait(10)
    assert not wk.wait_until_idle(timeout=0)
    gate.set()
    assert wk.wait_until_idle(10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have their own niceness only on Linux")
def test_a_lane_runs_nicer_than_the_thread_that_made_it():
    seen = []

    def niceness():
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return None
        yield

    lane = Lane("test-lane", lambda r: None, nice=5)
    try:
        lane.submit(Work.MAP, niceness, 1, priority=0, replaces=False)
        assert lane.wait_until_idle(10)
    finally:
        assert lane.stop()
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen == [min(19, here + 5)]


def test_opened_data_knows_its_binary_labels_before_the_gui_thread_asks():
    labels = np.array([[0, 1, 0.5], [1, 0, 2.0]], np.float32)
    dataset = Dataset("t", np.zeros((2, 4, 4, 3), np.uint8), labels, ("a", "b", "c"), "t")
    OpenedDataset(dataset, None, None)  # made on the thread that opened the data
    assert dataset.__dict__["_binary_label_names"] == ("a", "b")


def test_work_in_steps_stops_between_two_steps_when_the_worker_closes(results):
    got = results()
    compute = ComputeWorker(got)
    gate, started, ran = threading.Event(), threading.Event(), []

    def fits():
        for i in range(3):
            if i:
                yield  # a close or more urgent work gets in here
            if i == 0:
                started.set()
                gate.wait(10)
            ran.append(i)
        return ran

    compute.submit_steps(Work.VECTORS, fits, 1, replaces=False)
    assert started.wait(10)
    stopping = threading.Thread(target=compute.stop)
    stopping.start()
    while not compute._lane._stopping:  # the close is asked while the first step still runs
        started.wait(0.001)
    gate.set()
    stopping.join(10)
    assert not stopping.is_alive() and not compute.alive
    assert ran == [0]  # the fit under way finished its step; the others never ran
