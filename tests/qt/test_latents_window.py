"""The window on a file of precomputed latents (issue 12): the map from the file's mu, decodes by
the model, and placeholders (never a crash) where a data point's own image would be."""

import numpy as np
import pytest
import torch

from explorer.core.data import NO_IMAGE
from explorer_models import load_model, tensor_to_images

N, D = 300, 16


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def _decode(model, latent) -> np.ndarray:
    with torch.no_grad():
        return tensor_to_images(model.decode(torch.from_numpy(np.asarray(latent, np.float32)[None])))[0]


def _write(tmp_path, name, d=D, logvar=True):
    rng = np.random.default_rng(d)
    arrays = {"mu": rng.standard_normal((N, d)).astype(np.float32), "smiling": np.arange(N) % 2}
    if logvar:
        arrays["logvar"] = np.full((N, d), -2.0, np.float32)
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name, arrays


def _focus_on_leftmost(qtbot, w, map_mouse) -> int:
    """Move onto the leftmost point (alone under the cursor); its index once the panels show it."""
    s, mouse = w.state, map_mouse(w)
    mouse.move(s.coords[np.argmax(s.coords[:, 0])])  # first elsewhere: a move to where the pointer is moves nothing
    mouse.move(s.coords[np.argmin(s.coords[:, 0])])
    qtbot.waitUntil(lambda: s.focus is not None, timeout=20_000)
    index = s.focus
    qtbot.waitUntil(lambda: f"#{index}" in w.decoder_panel.labels.text(), timeout=20_000)
    return index


def test_the_window_maps_a_latents_file_and_shows_placeholders_for_its_images(
    open_window, qtbot, tmp_path, model, map_mouse
):
    path, arrays = _write(tmp_path, "latents.npz")
    w = open_window("builtin:faces", str(path))
    failures = []
    w.controller.failed.connect(lambda what, message: failures.append((what, message)))
    s = w.state
    assert np.array_equal(np.asarray(s.encodings.mu), arrays["mu"])
    assert np.array_equal(np.asarray(s.encodings.logvar), arrays["logvar"])
    assert s.coords.shape == (N, 2) and np.isfinite(s.coords).all()
    counts = w.map.point_counts()
    assert counts["smiling = 0"] == counts["smiling = 1"] == N // 2 and counts["dimmed"] == 0
    assert w.data_label.text() == f"{path}: {N:,} points"
    assert w.active_units.order.shape == (D,)
    # no images, so no reconstruction error to colour by; KL (from the file's logvar) is there
    assert s.colour_choices() == ["none", "smiling", "KL"]
    assert w.controller.encodings_source == "file"

    index = _focus_on_leftmost(qtbot, w, map_mouse)
    panel = w.decoder_panel
    assert panel.original.placeholder() == NO_IMAGE and panel.original.image() is None
    # the nearest point's "reconstruction" is the model's decode of its mu
    mu = arrays["mu"][index]
    expected = _decode(model, mu)
    shown = panel.reconstruction.image
    qtbot.waitUntil(lambda: shown() is not None and np.array_equal(shown(), expected), timeout=20_000)
    assert panel.reconstruction.caption() == "decode(mu)"
    qtbot.waitUntil(lambda: panel.neighbours.views[0].placeholder() == NO_IMAGE, timeout=20_000)
    neighbours = s.latent_neighbours(index)
    assert [v.caption() for v in panel.neighbours.views] == [f"#{i}" for i in neighbours]
    qtbot.waitUntil(lambda: "no reconstruction terms" in w.posterior_panel.terms.text(), timeout=20_000)
    terms = w.posterior_panel.terms.text()
    kl = 0.5 * (mu.astype(np.float64) ** 2 + np.exp(-2.0) - 1 + 2.0).sum()
    assert f"KL <b>{kl:.1f}</b> nats" in terms and f"mean {np.exp(-1.0):.3f}" in terms
    # a neighbour's placeholder pins it, as its image would
    panel.neighbours.views[0].clicked.emit()
    assert s.pinned is not None and np.allclose(s.pinned.latent, arrays["mu"][neighbours[0]], atol=1e-5)
    assert failures == []


def test_without_logvar_the_posterior_is_said_to_be_unknown(open_window, qtbot, tmp_path, map_mouse):
    path, arrays = _write(tmp_path, "means.npz", logvar=False)
    w = open_window("builtin:faces", str(path))
    failures = []
    w.controller.failed.connect(lambda what, message: failures.append((what, message)))
    assert np.array_equal(np.asarray(w.state.encodings.mu), arrays["mu"])
    assert w.active_units.order.shape == (0,)
    assert w.state.colour_choices() == ["none", "smiling"]  # neither recon nor KL without logvar
    _focus_on_leftmost(qtbot, w, map_mouse)
    posterior = w.posterior_panel
    qtbot.waitUntil(lambda: "posterior σ unknown" in posterior.terms.text(), timeout=20_000)
    assert f"no ELBO terms: {NO_IMAGE}" in posterior.terms.text()
    qtbot.waitUntil(lambda: posterior.samples.views[0].placeholder() == "σ unknown", timeout=20_000)
    assert all(v.image() is None for v in posterior.samples.views)
    qtbot.waitUntil(lambda: w.controller.idle, timeout=20_000)
    assert failures == []


def test_latents_of_another_size_are_refused_with_the_reason(open_window, qtbot, tmp_path):
    w = open_window("builtin:faces", "builtin:faces:test")
    path, _ = _write(tmp_path, "eight.npz", d=8)
    failures = []
    w.controller.failed.connect(lambda what, message: failures.append((what, message)))
    w.controller.open_dataset(str(path))
    qtbot.waitUntil(lambda: bool(failures), timeout=20_000)
    assert failures == [
        ("dataset", f"{path}: latents of size 8 but the model's latent size is 16; open the model that made them")
    ]
