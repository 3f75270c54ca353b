"""Where vae-explorer keeps what it can recompute: generated datasets, encodings.

The user's cache folder (platformdirs), or $VAE_EXPLORER_CACHE_DIR when set (tests and
shared machines use it). Everything here may be deleted at any time.

The cache is an optimisation, never a requirement: reading a folder that cannot be created
finds nothing, and a writer that fails tells the user (unwritable_warning) and goes on without
it. Nothing here raises because the cache folder is unusable, except make_dir, which is how a
writer learns why.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import platformdirs

from explorer_models.atomic import atomic_write

ENV_VAR = "VAE_EXPLORER_CACHE_DIR"


def cache_path(*parts: str) -> Path:
    """The cache path of `parts`; touches nothing on disk."""
    root = os.environ.get(ENV_VAR) or platformdirs.user_cache_dir("vae-explorer", appauthor=False)
    return Path(root, *parts)


def cache_dir(*parts: str) -> Path:
    """cache_path(*parts), created when it can be; never raises (a reader then finds nothing
    there, and a writer's own OSError says why)."""
    path = cache_path(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    return path


def make_dir(*parts: str) -> Path:
    """cache_path(*parts), created; OSError when it cannot be."""
    path = cache_path(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def writable_dir(*parts: str) -> Path | None:
    """cache_path(*parts) when it exists (or could be made) and a file can be created in it; else None.
    (writing_problem says why.)"""
    return None if writing_problem(*parts) else cache_path(*parts)


def writing_problem(*parts: str) -> str | None:
    """None when files can be written in cache_path(*parts) (it is created if need be), else a
    warning naming the folder and the OS error."""
    try:
        with tempfile.TemporaryFile(dir=make_dir(*parts)):
            pass
    except OSError as e:
        return unwritable_warning(cache_path(*parts), e)
    return None


def unwritable_warning(folder: Path, error: OSError, instead: str = "") -> str:
    """'cache folder F is not writable (REASON): INSTEAD', the one wording of this warning."""
    reason = error.strerror or str(error) or type(error).__name__
    culprit = Path(os.fsdecode(error.filename)) if error.filename is not None else None
    if culprit is not None and culprit != Path(folder) and Path(folder) not in culprit.parents:
        reason += f": {culprit}"  # somewhere else (e.g. a parent that is a file); not a temp file of ours
    return f"cache folder {folder} is not writable ({reason})" + (f": {instead}" if instead else "")


def load_array(path: Path, shape: tuple[int, ...], dtype) -> np.ndarray | None:
    """A memory-mapped cached array, or None when it is missing or not what we expect."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return arr if arr.shape == tuple(shape) and arr.dtype == np.dtype(dtype) else None


def save_array(path: Path, arr: np.ndarray) -> None:
    """Write `arr` to `path` in one rename (never half a file); OSError when it cannot be written."""
    with atomic_write(path) as f:
        np.save(f, arr, allow_pickle=False)
