"""Shared fixtures. Qt runs offscreen; nothing here touches the network."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh, empty vae-explorer cache folder for this test only."""
    from explorer.core import cache

    path = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(path))
    return path


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
