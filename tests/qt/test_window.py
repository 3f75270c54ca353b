import threading

import numpy as np
import torch
from PySide6 import QtWidgets

from explorer.qt import controller as controller_module
from explorer.worker import dataset_jobs
from explorer_models import load_model, save_checkpoint, tensor_to_images


def settle(qtbot, w) -> None:
    """Wait until every request the window made is answered (maps and colourings are built on
    the compute thread, then swapped in)."""
    qtbot.waitUntil(lambda: w.controller.idle, timeout=30_000)


def _decode(model, latent) -> np.ndarray:
    with torch.no_grad():
        return tensor_to_images(model.decode(torch.from_numpy(np.asarray(latent, np.float32)[None])))[0]


def test_window_opens_with_the_bundled_pair(open_window):
    w = open_window("builtin:faces", "builtin:faces")
    for name, kind in (
        ("latentMap", QtWidgets.QWidget),
        ("decodedView", QtWidgets.QWidget),
        ("nearestView", QtWidgets.QWidget),
        ("posteriorView", QtWidgets.QWidget),
    ):
        assert w.findChild(kind, name) is not None, name
    assert w.findChild(QtWidgets.QWidget, "latentMap") is w.map
    counts = w.map.point_counts()
    assert counts["dimmed"] == 0
    assert counts["smiling = 0"] + counts["smiling = 1"] == 20_000  # coloured by the first binary label
    assert w.device_label.text().startswith("CPU")
    assert w.data_label.text() == "builtin:faces: 20,000 points"
    assert w.active_units.order.shape == (16,)


def test_mouse_moves_show_exactly_the_decode_of_the_last_positions_latent(open_window, qtbot, map_mouse):
    w = open_window()
    state, mouse = w.state, map_mouse(w)
    model = load_model("builtin:faces")
    rng = np.random.default_rng(0)
    lo, hi = state.coords.min(0), state.coords.max(0)
    positions = lo + rng.random((25, 2)) * (hi - lo)
    for xy in positions:
        pixel = mouse.move(xy)
    last = mouse.at(pixel)  # where the pointer stopped, to the pixel
    # the latent under the last position, computed here without the app's code paths:
    nearest = int(np.argmin(((state.coords - last) ** 2).sum(1)))
    p = state.projection
    mu = np.asarray(state.encodings.mu[nearest], np.float64)
    latent = mu + p.axes @ (last - (mu - p.offset) @ p.axes)
    expected = _decode(model, latent.astype(np.float32))
    view = w.findChild(QtWidgets.QWidget, "decodedView")
    qtbot.waitUntil(lambda: view.image() is not None and np.array_equal(view.image(), expected), timeout=20_000)
    assert np.allclose(state.cursor.latent, latent, atol=1e-5)
    # the nearest data point's panel follows the cursor, and its reconstruction is decode(mu)
    qtbot.waitUntil(
        lambda: (
            w.decoder_panel.reconstruction.image() is not None
            and np.array_equal(w.decoder_panel.reconstruction.image(), _decode(model, mu))
        ),
        timeout=20_000,
    )
    assert np.array_equal(w.decoder_panel.original.image(), state.dataset.images[nearest])
    assert f"#{nearest}" in w.decoder_panel.labels.text()


def test_click_pins_and_the_pin_survives_a_projection_change(open_window, qtbot, map_mouse):
    w = open_window()
    state = w.state
    map_mouse(w).click(state.coords[np.argmin(state.coords[:, 0])])  # the leftmost point, alone under the cursor
    assert state.pinned is not None and state.pinned.nearest == np.argmin(state.coords[:, 0])
    pinned = state.pinned.latent.copy()
    w.active_units.choose(0)
    w.active_units.choose(1)
    settle(qtbot, w)
    dims = [int(w.active_units.order[0]), int(w.active_units.order[1])]
    assert state.projection.axis_labels == (f"z{dims[0]}", f"z{dims[1]}")
    assert np.array_equal(state.pinned.latent, pinned)  # same latent, new place on the map
    assert np.allclose(state.pinned.map_xy, pinned[dims])
    assert w.controls.projection.currentText() == "raw dimensions"


def test_search_greys_out_the_rest(open_window, qtbot):
    w = open_window()
    w.controls.search.setText("smiling=1 hat")
    settle(qtbot, w)
    labels = w.state.dataset.labels
    expected = int(((labels[:, 0] == 1) & (labels[:, 3] == 1)).sum())
    counts = w.map.point_counts()
    assert counts["dimmed"] == 2000 - expected
    assert counts["smiling = 1"] == expected and counts["smiling = 0"] == 0
    w.controls.search.setText("smiling=7 nonsense=1")
    settle(qtbot, w)
    assert "no label called 'nonsense'" in w.controls.search.toolTip()
    w.controls.search.setText("")
    settle(qtbot, w)
    assert w.map.point_counts()["dimmed"] == 0


def test_colouring_by_a_continuous_label_and_by_the_kl(open_window, qtbot):
    w = open_window()
    w.controls.colour.setCurrentText("head_x")
    settle(qtbot, w)
    assert w.state.colouring.continuous and w.map._colour_bar is not None and w.map._legend is None
    w.controls.colour.setCurrentText("KL")
    settle(qtbot, w)
    assert w.state.colouring.title == "KL (nats)"
    assert sum(w.map.point_counts().values()) == 2000


def test_prior_samples_are_decoded_and_placed_on_the_map(open_window, qtbot):
    w = open_window()
    w.controller.sample_prior()
    qtbot.waitUntil(lambda: "prior" in w.state.decoded, timeout=20_000)
    prior = w.state.decoded["prior"]
    model = load_model("builtin:faces")
    assert np.array_equal(prior.images[0], _decode(model, prior.latents[0]))
    assert np.allclose(np.array(w.map._prior.getData()).T, w.state.projection.transform(prior.latents))
    assert all(img is not None for img in w.posterior_panel.prior.images())


def test_fifty_rapid_cursor_moves_against_a_slow_model_show_only_newer_results(
    open_window, qtbot, monkeypatch, fake_vae, map_mouse
):
    model = fake_vae(latent_dim=4, image_shape=(3, 64, 64))
    monkeypatch.setattr(controller_module, "load_model", lambda spec: model)
    w = open_window("fake", "builtin:faces:test")
    model.gate = threading.Event()  # the decoder is stuck until the moves are done: slower than any hand
    shown = []
    w.state.decoded_changed.connect(lambda slot, d: shown.append(d.request_id) if slot == "cursor" else None)
    sent, mouse = [], map_mouse(w)
    for xy in np.linspace(w.state.coords.min(0), w.state.coords.max(0), 50):
        mouse.move(xy)
        sent.append(w.state.cursor.latent.copy())
    model.gate.set()
    qtbot.waitUntil(
        lambda: bool(shown) and np.array_equal(w.state.decoded["cursor"].latents[0], sent[-1]), timeout=20_000
    )
    # at most the decode that was running when the moves began, then the newest: the 48 or so
    # in between were replaced while they waited
    assert shown == sorted(shown) and len(shown) <= 2
    expected = _decode(model, sent[-1])
    assert np.array_equal(w.findChild(QtWidgets.QWidget, "decodedView").image(), expected)
    # an older result arriving late is dropped, not shown
    newest = w.state.decoded["cursor"]
    stale = controller_module.Decoded(newest.request_id - 1, np.zeros_like(newest.images), newest.latents)
    assert not w.state.set_decoded("cursor", stale)
    assert np.array_equal(w.findChild(QtWidgets.QWidget, "decodedView").image(), expected)


def test_a_failing_model_reports_its_error_and_the_window_stays_usable(
    open_window, qtbot, monkeypatch, fake_vae, map_mouse
):
    model = fake_vae(latent_dim=4, image_shape=(3, 64, 64))
    monkeypatch.setattr(controller_module, "load_model", lambda spec: model)
    w = open_window("fake", "builtin:faces:test")
    errors = []
    w.controller.failed.connect(lambda what, message: errors.append((what, message)))
    model.fail_with = RuntimeError("the decoder exploded")
    mouse = map_mouse(w)
    mouse.move(w.state.coords[3])
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert errors[0] == ("cursor", "RuntimeError: the decoder exploded")
    assert "the decoder exploded" in w.statusBar().currentMessage()
    model.fail_with = None
    mouse.move(w.state.coords[4])
    qtbot.waitUntil(lambda: w.state.decoded.get("cursor") is not None, timeout=10_000)
    assert w.controller.worker.alive


def test_a_missing_model_file_is_reported_and_nothing_crashes(open_window, qtbot, tmp_path):
    w = open_window(str(tmp_path / "nope.safetensors"), "builtin:faces:test", wait_ready=False)
    qtbot.waitUntil(lambda: "no such file" in w.statusBar().currentMessage(), timeout=20_000)
    box = w.findChild(QtWidgets.QMessageBox)
    assert box is not None and "nope.safetensors: no such file" in box.informativeText()
    assert w.controller.worker.alive and not w.state.ready


def test_the_worker_thread_is_gone_after_close(open_window):
    w = open_window()
    worker = w.controller.worker
    assert worker.alive
    w.close()
    assert not worker.alive
    assert not [t for t in threading.enumerate() if t.name == "vae-explorer-model"]


def test_geometry_is_remembered(open_window, settings):
    w = open_window(wait_ready=False)
    w.resize(760, 700)  # within the offscreen test screen (800 x 600), which restoring clamps to
    w.close()
    again = open_window(wait_ready=False)
    assert (again.width(), again.height()) == (760, 700)


def test_encodings_cache_is_reused_and_not_after_the_model_changes(open_window, isolated_cache, tmp_path):
    model = load_model("builtin:faces")
    path = tmp_path / "mine.safetensors"
    save_checkpoint(model, path)
    first = open_window(str(path), "builtin:faces:test")
    assert first.controller.encodings_source == "encoded"
    first_mu = np.array(first.state.encodings.mu)
    first.close()

    second = open_window(str(path), "builtin:faces:test")
    assert second.controller.encodings_source == "cache"
    assert np.array_equal(np.asarray(second.state.encodings.mu), first_mu)
    second.close()

    with torch.no_grad():
        model.encoder[0].bias.add_(0.05)  # the same file name, other weights
    save_checkpoint(model, path)
    third = open_window(str(path), "builtin:faces:test")
    assert third.controller.encodings_source == "encoded"
    assert not np.allclose(np.asarray(third.state.encodings.mu), first_mu)
    assert len(list((isolated_cache / "encodings").iterdir())) == 2


def test_cancel_stops_encoding_and_says_so(open_window, qtbot, isolated_cache, monkeypatch, fake_vae):
    model = fake_vae(latent_dim=4, image_shape=(3, 64, 64), gate=threading.Event())  # encoding waits for it
    monkeypatch.setattr(controller_module, "load_model", lambda spec: model)
    w = open_window("fake", "builtin:faces:test", wait_ready=False)
    qtbot.waitUntil(lambda: w.cancel_button.isVisible() and w.progress.format().startswith("encoding"), timeout=120_000)
    # the encoding's store is open (the model thread may first have served a decode, which the gate held too)
    qtbot.waitUntil(lambda: any((isolated_cache / "encodings").glob("*.partial")), timeout=60_000)
    w.cancel_button.click()
    model.gate.set()  # the chunk being encoded ends; the next is not started
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "encoding cancelled", timeout=20_000)
    assert not w.state.ready and not w.progress.isVisible() and not w.cancel_button.isVisible()
    stores = list((isolated_cache / "encodings").iterdir())
    assert [s.suffix for s in stores] == [".partial"]  # what was encoded is kept for the next run, not as complete


def test_opening_a_dataset_shows_its_progress_and_can_be_cancelled(open_window, qtbot, monkeypatch):
    from explorer.core.steps import Progress

    gate = threading.Event()

    def rendering(spec, image_shape, labels=None):  # a dataset that renders in steps, the second held by the gate
        yield Progress(512, 2000, "rendering faces")
        gate.wait(20)
        yield Progress(1024, 2000, "rendering faces")
        raise AssertionError("cancelled jobs take no further steps")

    monkeypatch.setattr(dataset_jobs, "for_model_steps", rendering)
    w = open_window(wait_ready=False)
    qtbot.waitUntil(lambda: w.progress.isVisible() and w.progress.value() == 512, timeout=60_000)
    assert w.progress.maximum() == 2000 and w.progress.format().startswith("rendering faces")
    assert w.cancel_button.isVisible()
    w.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "opening the dataset cancelled", timeout=20_000)
    assert w.state.dataset is None and not w.progress.isVisible()
    assert w.controller.worker.alive and w.controller.idle


def test_closing_the_window_while_the_faces_render_ends_the_worker(open_window, qtbot, isolated_cache, monkeypatch):
    from explorer.core.data import faces

    real_steps, held = faces.render_steps, threading.Event()

    def render_steps(factors, chunk=256):  # one real step, then steps that wait for the test (or the close)
        steps = real_steps(factors, chunk)
        first = next(steps)
        while not held.is_set():
            yield first
            held.wait(0.01)
        return (yield from steps)

    monkeypatch.setattr(faces, "render_steps", render_steps)
    w = open_window("builtin:faces", "builtin:faces", wait_ready=False)  # 20,000 faces, not yet rendered
    qtbot.waitUntil(
        lambda: w.progress.isVisible() and w.progress.format().startswith("rendering faces") and w.progress.value() > 0,
        timeout=120_000,
    )
    worker = w.controller.worker
    w.close()  # stops between two steps of rendering
    assert not worker.alive and not w.controller.compute.alive
    assert not [t.name for t in threading.enumerate() if t.name.startswith("vae-explorer")]
    held.set()
    assert not list((isolated_cache / "datasets").glob("*.npy"))  # nothing half-rendered was cached


def test_a_late_result_of_another_generation_is_ignored(open_window):
    from explorer.core.store.encoding import Encodings
    from explorer.worker.requests import Decoded, Finished, Job, Slot

    w = open_window()
    shown, generation = w.state.encodings, w.state.generation
    n, d = len(shown), shown.latent_dim
    zeros = np.zeros((n, d), np.float32)
    stale = Encodings(mu=zeros, logvar=zeros, recon=zeros[:, 0], kl=zeros[:, 0], mse=zeros[:, 0])
    w.controller._on_result(Finished(10**9, generation, Job.ENCODE, stale))  # an id no current job has
    assert w.state.encodings is shown
    image = np.zeros((1, 64, 64, 3), np.uint8)
    w.controller._on_result(Decoded(10**9, generation - 1, Slot.CURSOR, np.zeros((1, d), np.float32), image))
    assert w.state.decoded.get("cursor") is None or w.state.decoded["cursor"].request_id != 10**9
