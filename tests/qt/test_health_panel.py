"""The health panel: the figures of health.measure on the window's encodings, the log-likelihood
estimated on the model thread, and nothing of an old model shown for a new one."""

import threading

import numpy as np
import pytest
from PySide6 import QtCore

from explorer.core.space import health as H
from explorer.qt import controller as controller_module
from explorer.qt.health_panel import DEFAULT_K, DEFAULT_N, NO_LOGVAR
from explorer_models import load_model


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def _measured(w, qtbot):
    panel = w.health_panel
    qtbot.waitUntil(lambda: panel.health is not None and w.controller.idle, timeout=60_000)
    return panel


def _same_figures(a: H.Health, b: H.Health) -> None:
    for name in ("activity", "kl_per_dim", "mu_mean", "aggregate_var"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.n_points, a.mutual_information, a.mi_points, a.gaussian_kl) == (
        b.n_points,
        b.mutual_information,
        b.mi_points,
        b.gaussian_kl,
    )
    assert a.holes == b.holes


def test_the_panel_shows_health_measure_of_the_encodings_as_soon_as_they_are_in(open_window, qtbot):
    w = open_window()
    panel = _measured(w, qtbot)
    enc = w.state.encodings
    expected = H.measure(enc.mu, enc.logvar)
    _same_figures(panel.health, expected)
    assert panel.health.likelihood is None
    d, active = expected.latent_dim, int(expected.active.sum())
    assert panel.figures["Active units"].text() == f"<b>{active} of {d}</b>"
    assert panel.figures["I(x; z)"].text().startswith(f"≈ {expected.mutual_information:.2f} nats")
    assert panel.figures["KL"].text() == f"{expected.kl_per_dim.sum():.2f} nats per image"
    assert panel.figures["Prior holes"].text().startswith(f"{expected.holes.fraction:.1%} of 2,000 prior samples")
    flags = expected.flags()
    if flags:
        assert panel.flags.text() == "\n".join(f"⚠ {f}" for f in flags)
    else:
        assert panel.flags.text().startswith("No warnings")
    # one row per dimension, largest KL first, with its figures
    assert panel.table.rowCount() == d
    order = expected.kl_order
    assert [panel.table.item(r, 0).text() for r in range(d)] == [f"z{u}" for u in order]
    assert panel.table.item(0, 1).text() == f"{expected.kl_per_dim[order[0]]:.3f}"
    assert panel.table.item(0, 2).text() == f"{expected.activity[order[0]]:.4f}"
    assert (panel.k.value(), panel.n.value()) == (DEFAULT_K, DEFAULT_N)
    assert panel.measure_button.isEnabled() and not panel.progress.isVisible()


def test_measure_estimates_the_log_likelihood_on_the_model_thread(open_window, qtbot, model):
    w = open_window()
    panel = _measured(w, qtbot)
    w.docks["Health"].raise_()
    panel.k.setValue(4)
    panel.n.setValue(6)
    qtbot.mouseClick(panel.measure_button, QtCore.Qt.MouseButton.LeftButton)
    assert not panel.measure_button.isVisible() and panel.cancel_button.isVisible()
    qtbot.waitUntil(lambda: panel.health.likelihood is not None and w.controller.idle, timeout=60_000)
    # the CLI's images (seed 0) and the CLI's estimate of them
    ds, enc = w.state.dataset, w.state.encodings
    images = ds.images_at(H.pick_images(len(ds), 6, 0))
    cli = H.importance_weighted(model, images, 4, 0)
    est = panel.health.likelihood
    assert (est.k, est.n) == (4, 6)
    # equal but for the decoder's float rounding: the window's model thread runs one torch thread
    np.testing.assert_allclose(est.iwae, cli.iwae, rtol=1e-6)
    np.testing.assert_allclose(est.elbo, cli.elbo, rtol=1e-6)
    assert (est.iwae >= est.elbo - 1e-9).all()
    mean, _ = est.iwae_mean_se
    assert f"<b>log p(x) ≥ IWAE (K = 4):</b> {mean:.2f}" in panel.likelihood.text()
    # the rest is health.measure's, unchanged
    _same_figures(panel.health, H.measure(enc.mu, enc.logvar))
    assert any(line.startswith("log-likelihood  IWAE (K = 4)") for line in panel.health.lines())
    assert panel.measure_button.isEnabled() and not panel.cancel_button.isVisible()


def test_double_clicking_a_dimension_shows_its_traversal(open_window, qtbot):
    w = open_window()
    panel = _measured(w, qtbot)
    w.docks["Health"].raise_()
    qtbot.waitUntil(panel.table.isVisible)
    row = panel.table.rowCount() - 1  # the smallest KL
    dim = int(panel.health.kl_order[row])
    table = panel.table
    table.scrollToItem(table.item(row, 0))
    pos = table.visualItemRect(table.item(row, 0)).center()
    qtbot.mouseClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)  # a double click's first
    qtbot.mouseDClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    tab = w.strip_panel.traversal
    assert w.strip_panel.pages.currentWidget() is tab and tab.dims.text() == str(dim)
    qtbot.waitUntil(lambda: tab.traversal is not None and w.controller.idle, timeout=60_000)
    assert [r.dim for r in tab.traversal.rows] == [dim]


def test_a_model_switch_clears_the_old_figures_and_drops_a_measurement_under_way(
    open_window, qtbot, monkeypatch, fake_vae
):
    small = fake_vae(latent_dim=8, image_shape=(3, 64, 64))
    small.info = small.info.__class__(name="eight", content_hash="8" * 64, source="eight")
    real_load = controller_module.load_model
    monkeypatch.setattr(controller_module, "load_model", lambda s: small if s.spec == "eight" else real_load(s))
    w = open_window()
    panel = _measured(w, qtbot)
    old = panel.health
    assert old.latent_dim == 16

    started, gate = threading.Event(), threading.Event()
    real_steps = H.importance_weighted_steps

    def held(*args, **kwargs):  # holds the model thread in the estimate's first step
        started.set()
        gate.wait(30)
        return (yield from real_steps(*args, **kwargs))

    monkeypatch.setattr(H, "importance_weighted_steps", held)
    seen_at_switch = []
    w.state.model_changed.connect(
        lambda: seen_at_switch.append((panel.health, panel.likelihood.text(), panel.figures["KL"].text()))
    )
    try:
        panel.n.setValue(4)
        qtbot.mouseClick(panel.measure_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(started.is_set, timeout=30_000)
        w.controller.open_model("eight")
    finally:
        gate.set()
    qtbot.waitUntil(lambda: w.state.latent_dim == 8 and w.state.ready, timeout=120_000)
    qtbot.waitUntil(lambda: panel.health is not None and w.controller.idle, timeout=60_000)
    assert seen_at_switch == [(None, "", "")]  # cleared the moment the new model came in
    # the new model's figures, never the old ones, and no log-likelihood of the old model
    enc = w.state.encodings
    _same_figures(panel.health, H.measure(enc.mu, enc.logvar))
    assert panel.health.latent_dim == 8 and panel.health.likelihood is None
    assert panel.likelihood.text() == "" and panel.table.rowCount() == 8
    assert panel.measure_button.isEnabled() and not panel.progress.isVisible()


def test_latents_without_logvar_say_which_figures_they_cannot_give(open_window, qtbot, tmp_path):
    mu = (np.random.default_rng(0).normal(size=(300, 16)) * np.linspace(1, 0, 16)).astype(np.float32)
    np.savez(tmp_path / "latents.npz", mu=mu)
    w = open_window(data=str(tmp_path / "latents.npz"))
    panel = w.health_panel
    qtbot.waitUntil(lambda: w.controller.idle and panel.status.text().startswith(NO_LOGVAR), timeout=60_000)
    active = int((mu.astype(np.float64).var(0) > H.ACTIVE_THRESHOLD).sum())
    assert f"{active} of 16 dimensions vary over the data" in panel.status.text()
    assert panel.health is None and not panel.measure_button.isEnabled() and panel.table.rowCount() == 0


def test_cancel_stops_the_estimate_between_two_images(open_window, qtbot, monkeypatch):
    w = open_window()
    panel = _measured(w, qtbot)
    w.docks["Health"].raise_()
    started, gate, calls = threading.Event(), threading.Event(), []
    real_steps = H.importance_weighted_steps

    def held(*args, **kwargs):  # holds the model thread in its first step; notes each step's images done
        started.set()
        gate.wait(30)
        inner = real_steps(*args, **kwargs)
        while True:
            try:
                progress = next(inner)
            except StopIteration as done:
                return done.value
            calls.append(progress.done)
            yield progress

    monkeypatch.setattr(H, "importance_weighted_steps", held)
    monkeypatch.setattr(H, "STEP_LATENTS", 2)  # K = 2: an image a step
    try:
        panel.k.setValue(2)
        qtbot.mouseClick(panel.measure_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(started.is_set, timeout=30_000)
        qtbot.mouseClick(panel.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    finally:
        gate.set()
    qtbot.waitUntil(lambda: w.controller.idle and panel.likelihood.text() == "cancelled", timeout=30_000)
    assert calls == [1]  # the image under way ended; no other was started
    assert panel.health.likelihood is None and panel.measure_button.isVisible() and panel.measure_button.isEnabled()
