"""The strip panel's Traversal tab: its preview is the decode of the documented latents, the
controls change them as documented, Export writes what `vae-explorer traverse` writes, and
show_dimension puts a dimension in the first row."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore

from explorer.cli import main as cli_main
from explorer.core.figures import traversal as T
from explorer.qt.traversal_tab import BASE_NAMES, NO_PIN, PINNED, RANDOM, RANGE_NAMES, random_index
from explorer_models import decode_images, load_model


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def _open_tab(w, qtbot):
    """Click the strip dock's Traversal tab, as a user does."""
    pages = w.strip_panel.pages
    bar = pages.tabBar()
    qtbot.mouseClick(bar, QtCore.Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert pages.currentWidget() is w.strip_panel.traversal
    return w.strip_panel.traversal


def _settled(w, qtbot):
    """Until the traversal the controls ask for is built, decoded and laid out in the preview."""
    tab = w.strip_panel.traversal
    qtbot.waitUntil(
        lambda: w.controller.idle and tab.traversal is not None and tab.preview_traversal is tab.traversal,
        timeout=60_000,
    )
    return tab.traversal


def _choose(combo, value):
    combo.setCurrentIndex(combo.findData(value))


def _rows(t):
    return t.latents.reshape(len(t.rows), t.spec.columns, -1)


def _tiles(composite):
    return [composite.image[y : y + h, x : x + w] for x, y, w, h in composite.boxes]


def test_the_preview_shows_the_decode_of_every_dimension_swept_from_the_data_mean(open_window, qtbot, model):
    w = open_window()
    tab = _open_tab(w, qtbot)
    t = _settled(w, qtbot)
    enc, d = w.state.encodings, w.state.latent_dim
    mu, logvar = np.asarray(enc.mu, np.float64), np.asarray(enc.logvar, np.float64)
    kl = (0.5 * (mu**2 + np.exp(logvar) - logvar - 1)).mean(0)
    # every dimension, largest mean KL first; nine values from mean - 3 to mean + 3 (prior sd)
    assert [r.dim for r in t.rows] == list(np.argsort(-kl, kind="stable"))
    assert {r.dim for r in t.rows if r.inactive} == set(np.flatnonzero(mu.var(0) <= T.ACTIVE_UNIT_VARIANCE))
    rows, mean = _rows(t), mu.mean(0)
    for r, row in enumerate(t.rows):
        others = np.delete(np.arange(d), row.dim)
        assert np.allclose(rows[r][:, others], mean[others], atol=1e-6)
        assert np.allclose(rows[r][:, row.dim], mean[row.dim] + np.linspace(-3, 3, 9), atol=1e-5)
    # the preview's tiles are exactly the model's decodes of those latents, row by row
    expected = decode_images(model, t.latents)
    tiles = _tiles(tab.preview_composite)
    assert len(tiles) == len(t.latents) == d * 9
    for tile, image in zip(tiles, expected):
        assert np.array_equal(tile, image)
    assert tab.preview.image() is not None
    assert f"{d} × 9 images" in tab.info.text()


def test_range_base_and_rows_change_the_latents_as_documented(open_window, qtbot):
    w = open_window()
    tab = _open_tab(w, qtbot)
    _settled(w, qtbot)
    mu = np.asarray(w.state.encodings.mu, np.float64)
    n, d = mu.shape

    _choose(tab.range_kind, T.FIXED)
    tab.lo.setValue(-2.0)
    tab.hi.setValue(1.0)
    tab.columns.setValue(5)
    t = _settled(w, qtbot)
    assert t.spec.range == T.FIXED and (t.spec.lo, t.spec.hi, t.spec.columns) == (-2.0, 1.0, 5)
    for r, row in enumerate(t.rows):
        assert np.allclose(_rows(t)[r][:, row.dim], np.linspace(-2, 1, 5), atol=1e-6)

    _choose(tab.range_kind, T.QUANTILES)
    tab.quantile.setValue(0.1)
    t = _settled(w, qtbot)
    for r, row in enumerate(t.rows):
        want = np.quantile(mu[:, row.dim], np.linspace(0.1, 0.9, 5))
        assert np.allclose(_rows(t)[r][:, row.dim], want, atol=1e-5)

    _choose(tab.range_kind, T.SIGMA)
    tab.sigmas.setValue(1.5)
    _choose(tab.base, RANDOM)
    tab.seed.setValue(7)
    t = _settled(w, qtbot)
    index = random_index(7, n)
    assert index == int(np.random.default_rng(7).integers(n))  # as `traverse --base random --seed 7`
    assert (t.spec.base, t.spec.index, t.base_source) == (T.POINT, index, f"data point {index}")
    for r, row in enumerate(t.rows):
        others = np.delete(np.arange(d), row.dim)
        assert np.allclose(_rows(t)[r][:, others], mu[index, others], atol=1e-6)
        assert np.allclose(_rows(t)[r][:, row.dim], mu[index, row.dim] + np.linspace(-1.5, 1.5, 5), atol=1e-5)

    _choose(tab.base, PINNED)
    qtbot.waitUntil(lambda: tab.problem == NO_PIN)
    assert tab.traversal is None and tab.info.text() == NO_PIN
    w.state.pin_data_point(42)  # the pinned point, no slider moved: its own mu
    t = _settled(w, qtbot)
    assert t.spec.base == T.LATENT and t.base_source == "pinned latent"
    assert np.allclose(t.base, mu[42], atol=1e-6)

    _choose(tab.base, T.MEAN)
    tab.rows.setValue(3)
    t = _settled(w, qtbot)
    kl, _, variance = T.dimension_stats(w.state.encodings.mu, w.state.encodings.logvar)
    top = sorted(range(d), key=lambda u: (-kl[u], u))[:3]
    assert [r.dim for r in t.rows] == top and t.spec.dims == tuple(top)
    tab.rows.setValue(0)
    tab.only_active.click()
    t = _settled(w, qtbot)
    assert [r.dim for r in t.rows] == [u for u in sorted(range(d), key=lambda u: (-kl[u], u)) if variance[u] > 0.01]
    assert not any(r.inactive for r in t.rows)


def test_export_writes_what_the_traverse_command_writes(open_window, qtbot, tmp_path, capsys):
    w = open_window()
    tab = _open_tab(w, qtbot)
    _choose(tab.range_kind, T.QUANTILES)
    tab.quantile.setValue(0.05)
    tab.columns.setValue(6)
    tab.tabs.setCurrentIndex(1)  # Layout and animation
    tab.padding.setValue(3)
    tab.captions.click()
    t = _settled(w, qtbot)
    (tmp_path / "gui").mkdir()
    (tmp_path / "cli").mkdir()
    gui, cli = tmp_path / "gui" / "traversal.png", tmp_path / "cli" / "traversal.png"
    assert tab.export_to(str(gui))
    argv = ["traverse", "--model", "builtin:faces", "--data", "builtin:faces:test", "--device", "cpu"]
    argv += ["--range", "quantiles:0.05", "--columns", "6", "--padding", "3", "--captions", "--out", str(cli)]
    assert cli_main(argv) == 0, capsys.readouterr().err
    a, b = (np.asarray(Image.open(p).convert("RGB")) for p in (gui, cli))
    assert a.shape == b.shape and np.array_equal(a, b)
    doc_gui, doc_cli = (json.loads(p.with_name(p.name + ".json").read_text()) for p in (gui, cli))
    assert doc_gui == doc_cli
    assert doc_gui["spec"]["kind"] == "traversal" and doc_gui["latents"] == t.latents.tolist()

    # an animation: one frame per column, as the command writes it
    gif = tmp_path / "gui" / "traversal.gif"
    assert tab.export_to(str(gif))
    with Image.open(gif) as frames:
        assert frames.n_frames == 6


def test_show_dimension_puts_that_dimension_in_the_first_row(open_window, qtbot):
    w = open_window()
    panel = w.strip_panel
    assert panel.pages.currentWidget() is panel.strip_page
    enc = w.state.encodings
    kl, _, _ = T.dimension_stats(enc.mu, enc.logvar)
    dim = int(np.argmin(kl))  # the last row of the whole traversal
    panel.show_dimension(dim)
    assert panel.pages.currentWidget() is panel.traversal
    t = _settled(w, qtbot)
    assert [r.dim for r in t.rows] == [dim] and panel.traversal.dims.text() == str(dim)
    assert not panel.traversal.rows.isEnabled()  # the named dims rule the rows
    panel.traversal.dims.clear()  # the field's clear button: every dimension again
    t = _settled(w, qtbot)
    assert len(t.rows) == w.state.latent_dim and t.rows[-1].dim == dim


def test_nothing_is_built_while_the_tab_is_hidden(open_window, qtbot):
    w = open_window()
    tab = w.strip_panel.traversal
    qtbot.waitUntil(lambda: w.controller.idle)
    assert not tab.isVisible() and tab.traversal is None and "traversal" not in w.state.decoded
    assert list(BASE_NAMES) == [T.MEAN, PINNED, RANDOM] and list(RANGE_NAMES) == [T.SIGMA, T.FIXED, T.QUANTILES]


def test_latents_without_logvar_are_traversed_by_index(open_window, qtbot, tmp_path, model):
    mu = np.random.default_rng(1).normal(size=(300, 16)).astype(np.float32)
    np.savez(tmp_path / "latents.npz", mu=mu)
    w = open_window(data=str(tmp_path / "latents.npz"))
    tab = _open_tab(w, qtbot)
    t = _settled(w, qtbot)
    assert t.spec.sort == T.INDEX and [r.dim for r in t.rows] == list(range(16))
    assert all(r.label.startswith(f"z{r.dim} · KL n/a") for r in t.rows)
    tiles = _tiles(tab.preview_composite)
    assert all(np.array_equal(a, b) for a, b in zip(tiles, decode_images(model, t.latents)))
