import threading

import numpy as np
import pytest
import torch

from explorer.core.steps import Progress
from explorer.worker import model_thread as w
from explorer.worker.requests import Cancelled, Decoded, Failed, Finished, Job, Progressed, Slot

G = 1  # the generation every request here belongs to


@pytest.fixture
def started(results):
    made = []

    def start(model):
        c = results()
        wk = w.ModelWorker(c, device="cpu")
        made.append(wk)
        wk.load_model(lambda: model, G)
        r = c.next()
        assert isinstance(r, Finished) and r.job is Job.MODEL and r.value.model is model
        return wk, c

    yield start
    for wk in made:
        assert wk.stop(), "worker thread did not end"


def test_decode_gives_the_models_image(started, fake_vae):
    model = fake_vae()
    wk, c = started(model)
    z = np.array([[0.5, -1, 2, 0]], np.float32)
    rid = wk.decode(z, Slot.CURSOR, G)
    r = c.next(Decoded)
    expected = (torch.sigmoid(torch.from_numpy(z) @ model.w_dec) * 255).round().reshape(1, 3, 8, 8)
    assert r.request_id == rid and r.slot is Slot.CURSOR and r.generation == G
    assert np.array_equal(r.latents, z)
    assert np.array_equal(r.images, expected.permute(0, 2, 3, 1).to(torch.uint8).numpy())


def test_fifty_rapid_requests_deliver_the_newest_and_never_an_older_after_a_newer(started, fake_vae):
    gate = threading.Event()
    wk, c = started(fake_vae(gate=gate, delay=0.01))
    ids = [wk.decode(np.full((1, 4), i, np.float32), Slot.CURSOR, G) for i in range(50)]
    gate.set()  # the first decode was held at the gate while the other 49 arrived
    delivered = []
    while not delivered or delivered[-1].request_id != ids[-1]:
        delivered.append(c.next(Decoded))
    got = [r.request_id for r in delivered]
    assert got == sorted(got) and len(set(got)) == len(got)  # never an older after a newer
    assert got[-1] == ids[-1] and len(got) <= 3  # pending ones were replaced, not queued
    assert np.all(delivered[-1].latents == 49)  # the newest latent was decoded


def test_slots_do_not_replace_each_other(started, fake_vae):
    gate = threading.Event()
    wk, c = started(fake_vae(gate=gate))
    a = wk.decode(np.zeros(4), Slot.CURSOR, G)
    b = wk.decode(np.ones(4), Slot.NEAREST, G)
    gate.set()
    slots = {c.next(Decoded).slot: None for _ in range(2)}
    assert set(slots) == {Slot.CURSOR, Slot.NEAREST} and a < b


def test_errors_reach_the_caller_and_the_worker_survives(started, fake_vae):
    model = fake_vae(fail_with=RuntimeError("CUDA out of memory"))
    wk, c = started(model)
    rid = wk.decode(np.zeros(4), Slot.CURSOR, G)
    r = c.next()
    assert isinstance(r, Failed) and r.request_id == rid and r.what is Slot.CURSOR
    assert r.message == "RuntimeError: CUDA out of memory" and "Traceback" in r.details
    model.fail_with = None
    wk.decode(np.zeros(4), Slot.CURSOR, G)
    assert isinstance(c.next(), Decoded) and wk.alive


def test_a_failing_model_load_keeps_the_worker(fake_vae, results):
    c = results()
    wk = w.ModelWorker(c, device="cpu")
    try:

        def broken():
            raise OSError("disk on fire")

        wk.load_model(broken, G)
        r = c.next()
        assert isinstance(r, Failed) and r.what is Job.MODEL and "disk on fire" in r.message
        wk.decode(np.zeros(4), Slot.CURSOR, G)
        assert c.next().message == "no model is loaded"
        wk.load_model(fake_vae, G)
        assert isinstance(c.next(), Finished)
    finally:
        assert wk.stop()


def _counting_job(n, log, permits: threading.Semaphore):
    """n steps; each waits for a permit from the test, so the test decides how far it gets."""

    def start(model, device):
        for i in range(n):
            assert permits.acquire(timeout=10)
            log.append(("step", i))
            yield Progress(i, n)
        return "finished"

    return start


def test_jobs_report_progress_and_their_result(started, fake_vae):
    wk, c = started(fake_vae())
    log = []
    rid = wk.run_job(Job.ENCODE, _counting_job(3, log, threading.Semaphore(3)), G)
    kinds = [c.next() for _ in range(4)]
    assert [type(r) for r in kinds] == [Progressed] * 3 + [Finished]
    assert [r.progress.done for r in kinds[:3]] == [0, 1, 2] and kinds[3].value == "finished"
    assert all(r.request_id == rid for r in kinds)


def test_decodes_are_served_between_job_steps(started, fake_vae):
    wk, c = started(fake_vae())
    permits = threading.Semaphore(1)
    wk.run_job(Job.ENCODE, _counting_job(20, [], permits), G)
    c.next(Progressed)  # step 0 done; step 1 waits for a permit
    wk.decode(np.zeros(4), Slot.CURSOR, G)
    permits.release(19)
    order = []
    while not isinstance(r := c.next(), Finished):
        order.append(type(r).__name__ if isinstance(r, Decoded) else r.progress.done)
    assert order[:2] == [1, "Decoded"]  # served right after the step that was running, not after the job


def test_cancel_stops_a_job_between_steps(started, fake_vae):
    wk, c = started(fake_vae())
    log, permits = [], threading.Semaphore(1)
    rid = wk.run_job(Job.ENCODE, _counting_job(100, log, permits), G)
    c.next(Progressed)
    wk.cancel(rid)
    permits.release(99)
    while isinstance(r := c.next(), Progressed):
        pass
    assert isinstance(r, Cancelled) and r.request_id == rid
    assert len(log) == 2  # the step under way when it was cancelled, and no other


def test_stop_ends_the_thread_mid_job(fake_vae, results):
    c = results()
    wk = w.ModelWorker(c, device="cpu")
    wk.load_model(fake_vae, G)
    log, permits = [], threading.Semaphore(1)
    wk.run_job(Job.ENCODE, _counting_job(1000, log, permits), G)
    c.next(Progressed)
    permits.release(999)
    assert wk.stop(timeout=5)
    assert not wk.alive and len(log) < 1000
