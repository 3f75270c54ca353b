"""A sturdy core, seen from the window: switching models while work is queued, closing during
long jobs, a failing callback, a model that meets only the contract, sessions then new data.
(Closing while a dataset opens: tests/qt/test_window.py.)"""

import threading

import numpy as np

from explorer.core.space import vectors as V
from explorer.qt import controller as controller_module


def settle(qtbot, w, timeout=60_000) -> None:
    qtbot.waitUntil(lambda: w.controller.idle, timeout=timeout)


def _worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("vae-explorer")]


class ContractOnly:
    """A model that meets only the documented contract: encode, decode, sizes and info."""

    def __init__(self, fake):
        self._fake = fake
        self.latent_dim, self.image_shape, self.info = fake.latent_dim, fake.image_shape, fake.info

    def encode(self, x):
        return self._fake.encode(x)

    def decode(self, z):
        return self._fake.decode(z)


def _models(monkeypatch, **others):
    """load_model as the window calls it (with a ModelSource), with extra specs mapped to test models."""
    real = controller_module.load_model
    monkeypatch.setattr(controller_module, "load_model", lambda s: others[s.spec] if s.spec in others else real(s))


def _grid(w):
    """A 32x32 grid between four data points: 1,024 latents for the model thread."""
    s = w.state
    s.strip.set_spec(kind="grid", rows=32, cols=32)
    s.strip.set_keyframes([])
    for i in (1, 2, 3, 4):
        s.strip.add_data_point(i)
    assert s.strip.figure is not None and len(s.strip.figure.latents) == 1024


def test_switching_to_a_model_of_another_latent_size_with_work_queued(
    open_window, qtbot, map_mouse, monkeypatch, fake_vae
):
    small = fake_vae(latent_dim=8, image_shape=(3, 64, 64))
    small.info = small.info.__class__(name="eight", content_hash="8" * 64, source="eight")
    _models(monkeypatch, eight=small)
    w = open_window()
    s, mouse = w.state, map_mouse(w)
    failures, decoded_dims = [], []
    w.controller.failed.connect(lambda what, message: failures.append((what, message)))
    s.decoded_changed.connect(lambda slot, d: decoded_dims.append((s.latent_dim, d.latents.shape[1])))
    gate = threading.Event()
    labels, names = np.asarray(s.dataset.labels), s.dataset.label_names

    def slow_vector(mu):  # holds the compute thread until the switch is under way
        gate.wait(30)
        return V.from_label(V.MEAN, mu, labels, names, "smiling")

    w.controller.compute_vectors(slow_vector, what="a vector of the old model")
    _grid(w)  # a strip decode of 1,024 old-size latents
    for xy in s.coords[:5]:
        mouse.move(xy)  # cursor decodes of old-size latents
    w.controller.open_model("eight")
    gate.set()
    qtbot.waitUntil(lambda: s.latent_dim == 8 and s.ready, timeout=120_000)
    settle(qtbot, w)
    assert failures == []  # no exception in a slot, no error result
    assert all(v.direction.shape == (8,) for v in s.sliders.vectors)  # the old model's vector never arrived
    assert all(model_dim == latent_dim for model_dim, latent_dim in decoded_dims)

    # hovering right after the switch decodes with the new model
    target = s.coords[np.argmin(s.coords[:, 0])]
    mouse.move(target)
    qtbot.waitUntil(lambda: "cursor" in s.decoded and s.decoded["cursor"].latents.shape == (1, 8), timeout=20_000)
    settle(qtbot, w)
    import torch

    with torch.no_grad():
        expected = (small.decode(torch.from_numpy(s.cursor.latent[None])) * 255).round().to(torch.uint8)
    assert np.array_equal(s.decoded["cursor"].images[0], expected[0].permute(1, 2, 0).numpy())


def test_closing_during_a_grid_decode_leaves_no_thread(open_window, qtbot, monkeypatch, fake_vae):
    slow = fake_vae(latent_dim=16, image_shape=(3, 64, 64), delay=0.005)  # every decode call takes a while
    w = open_window()
    _models(monkeypatch, slow=slow)
    w.controller.open_model("slow")
    qtbot.waitUntil(lambda: w.state.ready and w.state.model_info.name == "fake", timeout=120_000)
    settle(qtbot, w)
    before = slow.decoded_batches
    _grid(w)
    qtbot.waitUntil(lambda: slow.decoded_batches > before)  # the grid is being decoded, in chunks
    w.close()
    assert not w.controller.worker.alive and not w.controller.compute.alive
    assert _worker_threads() == []
    assert slow.decoded_batches - before < 1024  # the grid was left unfinished, a chunk at most after close


def test_a_raising_result_handler_is_reported_and_the_window_keeps_serving(open_window, qtbot, map_mouse, monkeypatch):
    w = open_window()
    s, mouse = w.state, map_mouse(w)
    failures = []
    w.controller.failed.connect(lambda what, message: failures.append((what, message)))
    real, calls = s.set_decoded, []

    def once_broken(slot, decoded):
        calls.append(slot)
        if len(calls) == 1:
            raise RuntimeError("a bug while showing a result")
        return real(slot, decoded)

    monkeypatch.setattr(s, "set_decoded", once_broken)
    mouse.move(s.coords[0])
    qtbot.waitUntil(lambda: bool(failures), timeout=20_000)
    assert failures[0] == ("internal", "RuntimeError: a bug while showing a result")
    mouse.move(s.coords[1])
    qtbot.waitUntil(lambda: "cursor" in s.decoded, timeout=20_000)
    assert w.controller.worker.alive and w.controller.compute.alive


def test_a_model_with_only_encode_and_decode_encodes_and_shows_elbo_terms(
    open_window, qtbot, monkeypatch, fake_vae, isolated_cache
):
    model = ContractOnly(fake_vae(latent_dim=6, image_shape=(3, 64, 64)))
    assert not hasattr(model, "decode_logits") and not hasattr(model, "neg_log_likelihood")
    _models(monkeypatch, contract=model)
    w = open_window("contract", "builtin:faces:test")
    enc = w.state.encodings
    assert np.isfinite(enc.recon).all() and np.isfinite(enc.kl).all() and (enc.kl > 0).all()
    w.state.pin_data_point(3)
    w.posterior_panel.show_terms(3)
    elbo = -(float(enc.recon[3]) + float(enc.kl[3]))
    assert f"ELBO <b>{elbo:.1f}</b>" in w.posterior_panel.terms.text()


def test_a_restored_session_then_another_dataset_offers_its_label_sliders(open_window, qtbot, tmp_path):
    w = open_window()
    settle(qtbot, w)
    assert w.state.sliders.vectors  # the label vectors of the first dataset
    path = tmp_path / "s.vaesession"
    assert w.sessions.save(str(path))
    w.close()

    again = open_window(session=str(path), wait_ready=False)
    with qtbot.waitSignal(again.sessions.restored, timeout=60_000):
        pass
    settle(qtbot, again)
    again.controller.open_dataset("builtin:faces")
    qtbot.waitUntil(lambda: again.state.dataset.spec == "builtin:faces" and again.state.ready, timeout=180_000)
    settle(qtbot, again)
    names = {v.name for v in again.state.sliders.vectors}
    assert set(again.state.dataset.binary_label_names()) <= names


def test_an_unwritable_cache_folder_still_opens_the_data_with_a_warning(open_window, qtbot, tmp_path, monkeypatch):
    from explorer.core.store import cache

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENV_VAR, str(blocker / "cache"))  # no folder can be made under a file
    said = []
    w = open_window(wait_ready=False)
    w.state.status_changed.connect(said.append)
    qtbot.waitUntil(lambda: w.state.ready, timeout=180_000)
    assert len(w.state.encodings) == len(w.state.dataset) == 2000
    warnings = [s for s in said if "is not writable" in s]
    assert any("faces rendered in memory" in s for s in warnings)  # the dataset's warning
    assert any("encoded in memory, not cached" in s for s in warnings)  # the encoding's
