"""Issue 13 in the window: a UMAP map from the map bar, fitted off the GUI thread; under the
cursor, its inverse gives a data point's own latent on that point, and says when it guesses."""

from __future__ import annotations

import numpy as np
import pytest


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
