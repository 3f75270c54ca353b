"""Where vae-explorer keeps what it can recompute: generated datasets, encodings.

The user's cache folder (platformdirs), or $VAE_EXPLORER_CACHE_DIR when set (tests and
shared machines use it). Everything here may be deleted at any time.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import platformdirs

from models.atomic import atomic_write

ENV_VAR = "VAE_EXPLORER_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    root = os.environ.get(ENV_VAR) or platformdirs.user_cache_dir("vae-explorer", appauthor=False)
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_array(path: Path, shape: tuple[int, ...], dtype) -> np.ndarray | None:
    """A memory-mapped cached array, or None when it is missing or not what we expect."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return arr if arr.shape == tuple(shape) and arr.dtype == np.dtype(dtype) else None


def save_array(path: Path, arr: np.ndarray) -> None:
    with atomic_write(path) as f:
        np.save(f, arr, allow_pickle=False)
