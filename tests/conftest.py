"""Shared fixtures. Qt runs offscreen; nothing here touches the network."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh, empty vae-explorer cache folder for this test only."""
    from explorer.core.store import cache

    path = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(path))
    return path


@pytest.fixture
def make_pictures(tmp_path):
    """make_pictures(n, size, broken=False) -> a folder of n small RGB PNGs (size x size px) in
    tmp_path/pics, plus a file that is no image when `broken`."""

    def make(n: int, size: int, broken: bool = False):
        from PIL import Image

        folder = tmp_path / "pics"
        folder.mkdir(exist_ok=True)
        step = 255 // max(n, 1)
        for i in range(n):
            Image.new("RGB", (size, size), (step * i, 255 - step * i, 100)).save(folder / f"{i:02d}.png")
        if broken:
            (folder / "broken.png").write_bytes(b"not a png at all")
        return folder

    return make


@pytest.fixture
def tiny_images() -> np.ndarray:
    """64 small deterministic RGB images (32x32): blobs of varying position and colour."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:32, 0:32]
    images = np.empty((64, 32, 32, 3), np.uint8)
    for i in range(64):
        cx, cy, r = rng.uniform(8, 24), rng.uniform(8, 24), rng.uniform(4, 9)
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)[..., None]
        images[i] = np.where(blob, rng.integers(0, 256, 3), 30).astype(np.uint8)
    return images


class FakeVAE:
    """A tiny deterministic stand-in for a model: decode(z) = sigmoid(z @ W), reshaped.

    `delay` (seconds) slows each decode; `gate` (a threading.Event) makes decode wait until
    it is set; `fail_with` raises from decode. Meets the model contract (encode, decode,
    latent_dim, image_shape, info).
    """

    def __init__(self, latent_dim=4, image_shape=(3, 8, 8), delay=0.0, gate=None, fail_with=None):
        import torch

        from models.vae import ModelInfo

        self.latent_dim, self.image_shape = latent_dim, image_shape
        self.info = ModelInfo(name="fake", content_hash="f" * 64)
        g = torch.Generator().manual_seed(0)
        n = int(np.prod(image_shape))
        self.w_dec = torch.randn(latent_dim, n, generator=g)
        self.w_enc = torch.randn(n, 2 * latent_dim, generator=g) / np.sqrt(n)
        self.delay, self.gate, self.fail_with = delay, gate, fail_with
        self.decoded_batches = 0

    def encode(self, x):
        h = x.flatten(1) @ self.w_enc
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-5, 1)

    def decode_logits(self, z):
        import time

        if self.gate is not None:
            self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        self.decoded_batches += 1
        return (z @ self.w_dec).reshape(len(z), *self.image_shape)

    def decode(self, z):
        import torch

        return torch.sigmoid(self.decode_logits(z))

    def neg_log_likelihood(self, x, logits):
        import torch

        return torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    def to(self, device):
        return self

    def eval(self):
        return self


@pytest.fixture
def fake_vae():
    return FakeVAE


def _make_state(n=50, d=4, labels=None, model_hash="", spec="x", file_names=None):
    """An ExplorerState with a model, a small labelled dataset and its encodings (no model runs)."""
    from explorer.core.data import Dataset
    from explorer.core.state.explorer_state import ExplorerState
    from explorer.core.store.encoding import Encodings
    from models.vae import ModelInfo

    rng = np.random.default_rng(0)
    s = ExplorerState()
    s.set_model(ModelInfo(name="m", content_hash=model_hash, source="m.safetensors"), d, "cpu")
    labels = (rng.random((n, 1)) < 0.5).astype(np.float32) if labels is None else labels
    names = tuple("abcdefgh"[: labels.shape[1]])
    s.set_dataset(Dataset(spec, np.zeros((n, 2, 2, 3), np.uint8), labels, names, "fp", file_names))
    mu = rng.normal(size=(n, d)).astype(np.float32)
    logvar = rng.normal(size=(n, d)).astype(np.float32) - 2
    s.set_encodings(Encodings(mu, logvar, *(np.zeros(n, np.float32) for _ in range(3))))
    return s


@pytest.fixture
def make_state():
    return _make_state
