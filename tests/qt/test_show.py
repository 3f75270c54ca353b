"""Issue 12: explorer.show(model, images) opens the window on objects a user holds in Python,
explorer.encode(model, images) returns their encodings, and both work from inside a project
with its own models.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import explorer
from explorer.core.data.in_memory import SPEC, image_array
from explorer.qt import main_window
from explorer_models.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]


class TutorialVAE(torch.nn.Module):
    """Flattened 8x8 digits in, (mu, logvar) out, logits back."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.enc = torch.nn.Linear(64, 6)
        self.dec = torch.nn.Linear(3, 64)

    def encode(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z):
        return self.dec(z) * 5


@pytest.fixture
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[:200] / 16.0).astype(np.float32), d.target[:200]


def test_show_opens_the_window_on_an_in_memory_module(qtbot, monkeypatch, settings, digits, map_mouse):
    images, target = digits
    monkeypatch.setattr(main_window, "default_settings", lambda: settings)
    module = TutorialVAE().train()
    w = explorer.show(module, images, labels={"zero": target == 0, "seven": target == 7}, device="cpu", block=False)
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.state.ready and w.state.encodings is not None, timeout=60_000)
        s = w.state
        assert (s.latent_dim, s.model_info.name, s.dataset.spec) == (3, "TutorialVAE", SPEC)
        assert s.dataset.label_names == ("zero", "seven") and s.dataset.labels[:, 0].sum() == (target == 0).sum()
        # the window's encodings are the module's own, on the images as given (floats in [0, 1])
        x = torch.from_numpy(image_array(images)).float().div(255).flatten(1)
        np.testing.assert_allclose(s.encodings.mu, module.encode(x)[0].detach().numpy(), rtol=1e-4, atol=1e-5)
        assert s.coords.shape == (200, 2)
        # and it decodes: hovering the map shows the module's decoder, through the sigmoid
        qtbot.waitUntil(lambda: w.controller.idle, timeout=60_000)
        mouse = map_mouse(w)
        mouse.move(s.coords[np.argmax(s.coords[:, 0])])
        mouse.move(s.coords[np.argmin(s.coords[:, 0])])
        qtbot.waitUntil(lambda: "cursor" in s.decoded, timeout=30_000)
        z = torch.from_numpy(s.decoded["cursor"].latents[:1])
        expected = (torch.sigmoid(module.decode(z)) * 255).round().to(torch.uint8).reshape(8, 8).numpy()
        assert np.array_equal(s.decoded["cursor"].images[0][..., 0], expected)
        assert not module.training  # the window runs it in eval mode
    finally:
        w.close()
    assert module.training  # and gives it back as it was


def test_encode_returns_the_encodings_of_numpy_or_torch_images(digits):
    images, _ = digits
    module = TutorialVAE().train()  # as a training loop has it
    from_numpy = explorer.encode(module, images)
    assert module.training  # left as the caller had it
    from_torch = explorer.encode(module, torch.from_numpy(images)[:, None])  # (N, 1, 8, 8)
    assert from_numpy.mu.shape == (200, 3) and np.array_equal(from_numpy.mu, from_torch.mu)
    assert np.isfinite(from_numpy.kl).all() and (from_numpy.kl >= 0).all()
    with pytest.raises(UserInputError, match=r"images: shape \(3, 64\); give \(N, H, W\)"):
        explorer.encode(module, np.zeros((3, 64)))
    with pytest.raises(UserInputError, match=r"labels: shape \(5,\); give \(200,\) or \(200, L\)"):
        explorer.show(module, images, labels=np.zeros(5), block=False)
    with pytest.raises(UserInputError, match=r"labels: give one \(200,\) array per label name; 'b' has shape \(3,\)"):
        explorer.show(module, images, labels={"a": np.zeros(200), "b": np.zeros(3)}, block=False)
    assert module.training


def test_show_and_encode_work_from_a_project_with_its_own_models_py(tmp_path):
    """Most ML projects have a models.py: `import explorer` there must neither pick it up nor
    hide it from the user's code. A script in such a folder shows its model, then exits."""
    (tmp_path / "models.py").write_text("OWNER = 'the user'\n")
    script = tmp_path / "explore.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(tmp_path)!r})  # the project folder first, as `python explore.py` has it
            import numpy as np, torch
            import models  # the user's own
            import explorer
            from PySide6 import QtCore
            from explorer.qt import main_window
            main_window.default_settings = lambda: QtCore.QSettings(
                {str(tmp_path / "s.ini")!r}, QtCore.QSettings.Format.IniFormat)

            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.enc, self.dec = torch.nn.Linear(16, 4), torch.nn.Linear(2, 16)
                def encode(self, x):
                    return self.enc(x).chunk(2, dim=-1)
                def decode(self, z):
                    return torch.sigmoid(self.dec(z))

            images = np.random.default_rng(0).random((50, 4, 4))
            print(models.OWNER, explorer.encode(Net(), images).mu.shape)
            w = explorer.show(Net(), images, device="cpu", block=False)
            def check():
                if w.state.ready and w.state.encodings is not None:
                    print("shown", w.state.latent_dim, len(w.state.encodings.mu))
                    w.close()
            timer = QtCore.QTimer(interval=50, timeout=check)
            timer.start()
            loop = QtCore.QEventLoop()
            w.closed.connect(loop.quit)
            QtCore.QTimer.singleShot(120_000, loop.quit)
            loop.exec()
            timer.stop()
            """
        )
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
    run = [sys.executable, str(script)]
    out = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split("\n")[:2] == ["the user (50, 2)", "shown 2 50"]


def test_show_returns_at_once_where_ipython_runs_the_qt_event_loop(monkeypatch):
    """`%gui qt` in Jupyter: IPython's shell says its active event loop is Qt's."""
    import types

    from explorer.notebook import in_notebook_event_loop

    shell = types.SimpleNamespace(active_eventloop=None)
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not in_notebook_event_loop()  # a notebook without %gui qt: show() blocks
    shell.active_eventloop = "qt6"
    assert in_notebook_event_loop()
    fake.get_ipython = lambda: None  # IPython imported, but not running
    assert not in_notebook_event_loop()
    monkeypatch.delitem(sys.modules, "IPython")
    assert not in_notebook_event_loop()
