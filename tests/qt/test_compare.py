"""File > Compare With Model…: a second model on the same data, its decoder linked to the cursor
on A's map, both models' figures in one table."""

import numpy as np
import torch
from PySide6 import QtWidgets

from explorer.core.space import health as H
from explorer.core.space import model_pair as P
from explorer_models import load_model
from explorer_models.architectures import build_model
from explorer_models.checkpoint import save_checkpoint
from explorer_models.config import VAEConfig
from explorer_models.vae import decode_images


def _model_b(path, latent_dim: int, seed: int = 3):
    """A second model that takes the bundled faces: an untrained conv VAE is enough to tell its
    decodes from A's and to check which latent it was given."""
    torch.manual_seed(seed)
    save_checkpoint(build_model(VAEConfig("conv", (3, 64, 64), latent_dim=latent_dim)), path)
    return str(path)


def _open_b(qtbot, window, spec):
    window.comparison.open(spec)
    qtbot.waitUntil(lambda: window.comparison.result is not None, timeout=180_000)
    return window.comparison


def _hover_and_wait(qtbot, window, map_mouse, xy):
    c = window.comparison
    before = c.image
    map_mouse(window).move(xy)
    qtbot.waitUntil(lambda: c.image is not before and window.state.cursor is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.controller.idle, timeout=30_000)
    return window.state.cursor


def test_b_decodes_the_cursor_through_the_link_fitted_on_both_encodings(qtbot, open_window, map_mouse, tmp_path):
    window = open_window()
    path = _model_b(tmp_path / "b.safetensors", latent_dim=8)
    c = _open_b(qtbot, window, path)
    assert window.docks["Compare"].isVisible()
    assert c.mode == P.MATCHED and P.SAME not in c.result.links  # 16 and 8 dims: only the fitted link
    mu_a = np.asarray(window.state.encodings.mu)
    np.testing.assert_allclose(c.link.weights, P.link(P.MATCHED, mu_a, c.result.mu).weights, rtol=1e-6)

    cursor = _hover_and_wait(qtbot, window, map_mouse, window.state.coords[5])
    expected_latent = c.link(cursor.latent)
    np.testing.assert_array_equal(c.latent, expected_latent)
    b = load_model(path)
    np.testing.assert_array_equal(c.image, decode_images(b, expected_latent[None])[0])
    # A's image beside it is A's own decode of the cursor
    a_image = window.compare_panel.image_a._array
    np.testing.assert_array_equal(a_image, decode_images(load_model("builtin:faces"), cursor.latent[None])[0])
    assert not window.compare_panel.mode.model().item(window.compare_panel.mode.findData(P.SAME)).isEnabled()


def test_the_same_latent_goes_through_both_decoders_and_the_table_holds_both_models(
    qtbot, open_window, map_mouse, tmp_path
):
    window = open_window()
    path = _model_b(tmp_path / "b16.safetensors", latent_dim=16)
    _open_b(qtbot, window, path)
    panel, c = window.compare_panel, window.comparison
    panel.mode.setCurrentIndex(panel.mode.findData(P.SAME))
    assert c.mode == P.SAME
    cursor = _hover_and_wait(qtbot, window, map_mouse, window.state.coords[11])
    np.testing.assert_array_equal(c.latent, cursor.latent)
    np.testing.assert_array_equal(c.image, decode_images(load_model(path), cursor.latent[None])[0])
    assert not np.array_equal(c.image, panel.image_a._array)  # two models, two images

    rows = {
        panel.table.item(i, 0).text(): (panel.table.item(i, 1).text(), panel.table.item(i, 2).text())
        for i in range(panel.table.rowCount())
    }
    enc = window.state.encodings
    active_a = int(H.measure(np.asarray(enc.mu), np.asarray(enc.logvar)).active.sum())
    assert rows["active units"][0] == f"{active_a} of 16"
    assert rows["active units"][1].endswith("of 16")
    assert "MIG" in rows  # the faces have labels


def test_closing_the_comparison_clears_the_panel_and_a_failing_model_says_why(qtbot, open_window, tmp_path):
    window = open_window()
    c = window.comparison
    messages = []
    c.failed.connect(messages.append)
    c.open(str(tmp_path / "missing.safetensors"))
    qtbot.waitUntil(lambda: bool(messages), timeout=30_000)
    assert "missing.safetensors" in messages[0] and "no such file" in messages[0]
    assert not c.active and not window.compare_panel.isEnabled()

    _open_b(qtbot, window, _model_b(tmp_path / "b.safetensors", latent_dim=4))
    assert window.compare_panel.table.rowCount() > 0
    window.compare_panel.close_button.click()
    assert not c.active and c.result is None and window.compare_panel.table.rowCount() == 0


def test_the_file_menu_asks_for_model_b(qtbot, open_window, tmp_path, monkeypatch):
    window = open_window()
    path = _model_b(tmp_path / "b.safetensors", latent_dim=4)
    monkeypatch.setattr(QtWidgets.QInputDialog, "getItem", staticmethod(lambda *a, **k: ("Choose a file…", True)))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (path, "")))
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Compare With Model…")
    action.trigger()
    assert window.comparison.spec == path
    qtbot.waitUntil(lambda: window.comparison.result is not None, timeout=180_000)


def test_a_new_dataset_is_encoded_by_b_again_and_nothing_of_the_old_one_is_shown(qtbot, open_window, tmp_path):
    from explorer.core.data import load_faces

    window = open_window()
    c = _open_b(qtbot, window, _model_b(tmp_path / "b16.safetensors", latent_dim=16))
    c.set_mode(P.SAME)
    old, generation = c.result, c.generation
    np.save(tmp_path / "small.npy", load_faces("test", n=300).images)
    seen = []
    window.state.data_changed.connect(lambda: seen.append(c.result))
    window.controller.open_dataset(str(tmp_path / "small.npy"))
    qtbot.waitUntil(lambda: window.state.ready and len(window.state.encodings) == 300, timeout=180_000)
    qtbot.waitUntil(lambda: c.result is not None, timeout=180_000)
    assert all(r is None for r in seen)  # the old data's results went the moment it did
    assert c.result is not old and len(c.result.mu) == 300 and c.generation > generation
    assert c.mode == P.SAME and window.compare_panel.table.rowCount() > 0
