import queue
import threading
import time

import numpy as np
import pytest
import torch

from explorer.worker import model_thread as w


class Collector:
    def __init__(self):
        self.results = queue.Queue()

    def __call__(self, result):
        self.results.put(result)

    def next(self, kind=None, timeout=10):
        while True:
            r = self.results.get(timeout=timeout)
            if kind is None or r.kind == kind:
                return r

    def drain(self):
        out = []
        while not self.results.empty():
            out.append(self.results.get())
        return out


@pytest.fixture
def started():
    made = []

    def start(model):
        c = Collector()
        wk = w.ModelWorker(c, device="cpu")
        made.append(wk)
        wk.load_model(lambda: model)
        assert c.next().kind == w.READY
        return wk, c

    yield start
    for wk in made:
        assert wk.stop(), "worker thread did not end"


def test_decode_gives_the_models_image(started, fake_vae):
    model = fake_vae()
    wk, c = started(model)
    z = np.array([[0.5, -1, 2, 0]], np.float32)
    rid = wk.decode(z)
    r = c.next(w.DECODED)
    expected = (torch.sigmoid(torch.from_numpy(z) @ model.w_dec) * 255).round().reshape(1, 3, 8, 8)
    assert r.request_id == rid and r.slot == "cursor"
    latents, images = r.value
    assert np.array_equal(latents, z)
    assert np.array_equal(images, expected.permute(0, 2, 3, 1).to(torch.uint8).numpy())


def test_fifty_rapid_requests_deliver_the_newest_and_never_an_older_after_a_newer(started, fake_vae):
    gate = threading.Event()
    wk, c = started(fake_vae(gate=gate, delay=0.01))
    ids = [wk.decode(np.full((1, 4), i, np.float32)) for i in range(50)]
    gate.set()  # the first decode was held at the gate while the other 49 arrived
    delivered = []
    while not delivered or delivered[-1].request_id != ids[-1]:
        delivered.append(c.next(w.DECODED))
    got = [r.request_id for r in delivered]
    assert got == sorted(got) and len(set(got)) == len(got)  # never an older after a newer
    assert got[-1] == ids[-1] and len(got) <= 3  # pending ones were replaced, not queued
    assert np.all(delivered[-1].value[0] == 49)  # the newest latent was decoded


def test_slots_do_not_replace_each_other(started, fake_vae):
    gate = threading.Event()
    wk, c = started(fake_vae(gate=gate))
    a = wk.decode(np.zeros(4), slot="cursor")
    b = wk.decode(np.ones(4), slot="nearest")
    gate.set()
    results = {c.next(w.DECODED).slot: None for _ in range(2)}
    assert set(results) == {"cursor", "nearest"} and a < b


def test_errors_reach_the_caller_and_the_worker_survives(started, fake_vae):
    model = fake_vae(fail_with=RuntimeError("CUDA out of memory"))
    wk, c = started(model)
    rid = wk.decode(np.zeros(4))
    r = c.next()
    assert (r.request_id, r.kind) == (rid, w.ERROR)
    assert r.error == "RuntimeError: CUDA out of memory" and "Traceback" in r.value
    model.fail_with = None
    wk.decode(np.zeros(4))
    assert c.next().kind == w.DECODED and wk.alive


def test_a_failing_model_load_keeps_the_worker(fake_vae):
    c = Collector()
    wk = w.ModelWorker(c, device="cpu")
    try:

        def broken():
            raise OSError("disk on fire")

        wk.load_model(broken)
        r = c.next()
        assert r.kind == w.ERROR and "disk on fire" in r.error
        wk.decode(np.zeros(4))
        assert c.next().error == "no model is loaded"
        wk.load_model(fake_vae)
        assert c.next().kind == w.READY
    finally:
        assert wk.stop()


def _counting_job(n, log):
    def start(model, device):
        for i in range(n):
            log.append(("step", i))
            time.sleep(0.01)
            yield i
        return "finished"

    return start


def test_jobs_report_progress_and_their_result(started, fake_vae):
    wk, c = started(fake_vae())
    log = []
    rid = wk.run_job(_counting_job(3, log), slot="encode")
    kinds = [c.next() for _ in range(4)]
    assert [r.kind for r in kinds] == [w.PROGRESS] * 3 + [w.DONE]
    assert [r.value for r in kinds] == [0, 1, 2, "finished"]
    assert all(r.request_id == rid for r in kinds)


def test_decodes_are_served_between_job_steps(started, fake_vae):
    model = fake_vae()
    wk, c = started(model)
    log = []

    def start(m, device):
        for i in range(20):
            log.append(("step", i))
            time.sleep(0.02)
            yield i

    wk.run_job(start, slot="encode")
    c.next(w.PROGRESS)
    wk.decode(np.zeros(4))
    r = c.next(w.DECODED)
    assert r.kind == w.DECODED
    assert len(log) < 20  # the decode did not wait for the whole job


def test_cancel_stops_a_job_between_steps(started, fake_vae):
    wk, c = started(fake_vae())
    log = []
    rid = wk.run_job(_counting_job(100, log), slot="encode")
    c.next(w.PROGRESS)
    wk.cancel(rid)
    while (r := c.next()).kind == w.PROGRESS:
        pass
    assert (r.request_id, r.kind) == (rid, w.CANCELLED)
    assert len(log) < 100


def test_stop_ends_the_thread_mid_job(fake_vae):
    c = Collector()
    wk = w.ModelWorker(c, device="cpu")
    wk.load_model(fake_vae)
    wk.run_job(_counting_job(1000, []), slot="encode")
    c.next(w.PROGRESS)
    t0 = time.perf_counter()
    assert wk.stop(timeout=5)
    assert not wk.alive and time.perf_counter() - t0 < 1
