"""Issue 13 in the window: a UMAP map from the map bar, fitted off the GUI thread; under the
cursor, its inverse gives a data point's own latent on that point, and says when it guesses.
A fit runs on a thread of its own with progress and the window's Cancel: the map shown stays
usable meanwhile, and stays after a cancel. Fakes held by a threading.Event order things."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.core.maps import fits as FITS
from explorer.core.steps import Progress
from explorer.core.store import cache


def test_a_umap_map_from_the_map_bar_decodes_exactly_at_a_data_point(open_window, qtbot, map_mouse):
    pytest.importorskip("umap")  # in the test extra
    w = open_window()
    s = w.state
    assert "UMAP" in [w.controls.projection.itemText(i) for i in range(w.controls.projection.count())]
    pca_coords = s.coords.copy()
    w.controls.projection.setCurrentText("UMAP")
    qtbot.waitUntil(lambda: s.projection.name == "UMAP", timeout=180_000)
    qtbot.waitUntil(lambda: w.controller.idle, timeout=60_000)
    assert s.projection_source == ("umap",) and s.coords.shape == pca_coords.shape
    assert not np.allclose(s.coords, pca_coords) and not w.controls.fill.isEnabled()
    mouse = map_mouse(w)
    index = int(np.argmin(s.coords[:, 0]))  # the leftmost point: alone under the cursor
    cursor = s.latent_at(s.coords[index])
    np.testing.assert_array_equal(cursor.latent, s.encodings.mu[index])  # the inverse is exact on the data
    mouse.move(s.coords[np.argmax(s.coords[:, 0])])
    mouse.move(s.coords[index])
    qtbot.waitUntil(lambda: s.cursor is not None and s.cursor.nearest == index, timeout=20_000)
    assert "guess" not in w.decoder_panel.latent_text.text()
    far = s.coords.min(0) - 40 * s.projection.spacing  # well off the data, inside no cluster
    s.move_cursor(far)  # as a drag beyond the data's edge would
    assert w.decoder_panel.latent_text.text().endswith("far from the data: this latent is a guess")


class HeldFit:
    """A stand-in for FITS.fit_steps: three steps of progress, the third held until `gate` opens;
    its map is mu's first two coordinates, doubled. Records whether it was closed or finished."""

    def __init__(self):
        self.gate, self.started = threading.Event(), threading.Event()
        self.closed = self.finished = False

    def __call__(self, method, mu, seed=0):
        try:
            yield Progress(0, 3, "fitting fake")
            yield Progress(1, 3, "fitting fake")
            self.started.set()
            self.gate.wait(10)
            yield Progress(2, 3, "fitting fake")
            self.finished = True
            return np.asarray(mu[:, :2], np.float64) * 2
        except GeneratorExit:
            self.closed = True
            raise


def _fits_from(fit, monkeypatch, tmp_path):
    """Fits by `fit`, kept in an empty cache of the test's own (set once the window has its
    encodings: the bundled ones are in the user cache)."""
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.setattr(FITS, "fit_steps", fit)
    return fit


def _cached_maps(tmp_path) -> list:
    return list((tmp_path / "cache").rglob("*.npy"))


def test_a_fit_shows_its_progress_and_its_cancel_keeps_the_map_shown(open_window, qtbot, monkeypatch, tmp_path):
    w = open_window()
    s = w.state
    if "UMAP" not in [w.controls.projection.itemText(i) for i in range(w.controls.projection.count())]:
        pytest.skip("umap-learn is not installed")
    fit = _fits_from(HeldFit(), monkeypatch, tmp_path)
    pca = s.coords.copy()
    try:
        w.controls.projection.setCurrentText("UMAP")
        qtbot.waitUntil(lambda: w.progress.isVisible() and w.progress.format() == "fitting fake 1 / 3")
        assert (w.progress.value(), w.progress.maximum()) == (1, 3) and w.cancel_button.isVisible()
        w.cancel_button.click()  # the Cancel the window offers for every long job
        assert not w.progress.isVisible() and not w.cancel_button.isVisible()  # at once
        assert w.controls.projection.currentText() == "PCA"  # the map bar names the map that stays
        assert "cancelled" in w.statusBar().currentMessage()
    finally:
        fit.gate.set()
    qtbot.waitUntil(lambda: fit.closed)  # closed by the fit thread at its next step
    qtbot.waitUntil(lambda: w.controller.idle)
    assert s.projection_source == ("pca",) and np.array_equal(s.coords, pca) and not fit.finished
    assert _cached_maps(tmp_path) == []  # nothing half-done was kept
    quick = _fits_from(HeldFit(), monkeypatch, tmp_path)
    quick.gate.set()
    w.controls.projection.setCurrentText("UMAP")  # the fit thread is free: the next fit runs and shows
    qtbot.waitUntil(lambda: s.projection_source == ("umap",))
    np.testing.assert_array_equal(s.coords, np.asarray(s.encodings.mu[:, :2], np.float64) * 2)
    assert not w.progress.isVisible() and len(_cached_maps(tmp_path)) == 1


def test_while_a_fit_runs_other_work_is_answered_and_another_map_supersedes_it(
    open_window, qtbot, monkeypatch, tmp_path
):
    w = open_window()
    s = w.state
    fit = _fits_from(HeldFit(), monkeypatch, tmp_path)
    try:
        s.set_nonlinear("tsne")  # as the map bar does
        qtbot.waitUntil(fit.started.is_set)  # the fit thread is held inside a step
        other = next(k for k in s.colour_choices() if k != s.colour_key)
        w.controls.colour.setCurrentText(other)
        qtbot.waitUntil(lambda: s.colour_key == other)  # answered by the compute thread meanwhile
        w.controls.search.setText("0-99")
        qtbot.waitUntil(lambda: s.search_count == 100)
        assert not fit.gate.is_set() and w.progress.isVisible() and s.projection_source == ("pca",)
        w.controls.projection.setCurrentText("raw dimensions")  # another map, from the map bar
        qtbot.waitUntil(lambda: s.projection_source[0] == "raw")
        assert not w.progress.isVisible()  # the fit it superseded shows no more progress
    finally:
        fit.gate.set()
    qtbot.waitUntil(lambda: fit.closed)
    qtbot.waitUntil(lambda: w.controller.idle)
    assert s.projection_source[0] == "raw" and not fit.finished and _cached_maps(tmp_path) == []
    assert w.controls.projection.currentText() == "raw dimensions"


def test_closing_the_window_during_a_fit_stops_the_fit_thread(open_window, qtbot, monkeypatch, tmp_path):
    closed = []

    def endless(method, mu, seed=0):  # a fit that never ends by itself
        try:
            yield Progress(0, 0, "fitting forever")
            while True:
                yield
        finally:
            closed.append(True)

    w = open_window()
    _fits_from(endless, monkeypatch, tmp_path)
    w.state.set_nonlinear("umap")
    qtbot.waitUntil(lambda: w.progress.isVisible() and w.progress.format() == "fitting forever")
    w.close()
    runner = w.controller.runner
    assert closed == [True] and not runner.fits.alive and not runner.compute.alive
    assert _cached_maps(tmp_path) == []
