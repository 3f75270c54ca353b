"""Built-in datasets by SPEC: `builtin:faces` (training split) and `builtin:faces:test`."""

from __future__ import annotations

import hashlib

import numpy as np

from explorer.core.data import faces
from explorer.core.data.base import ArrayDataset
from explorer.core.steps import Steps, run_steps
from explorer.core.store import cache

PREFIX = "builtin:"
FACES_SIZES = {"train": 20_000, "test": 2_000}
_SPLIT_OF_SPEC = {"faces": "train", "faces:test": "test"}
# Rendering more than this many faces takes over a second: keep them on disk.
_CACHE_FROM = 1_000
DATASETS = "datasets"  # the rendered faces' folder in the cache


def builtin_specs() -> list[str]:
    return [PREFIX + name for name in _SPLIT_OF_SPEC]


def builtin_steps(spec: str) -> Steps[ArrayDataset]:
    """A spec from builtin_specs() (datasets.check_spec has vetted it)."""
    return faces_steps(_SPLIT_OF_SPEC[spec[len(PREFIX) :]])


def load_faces(split: str = "train", n: int | None = None, seed: int = 0) -> ArrayDataset:
    """The generated faces; the first k images are the same for any n >= k."""
    return run_steps(faces_steps(split, n, seed))


def faces_steps(split: str = "train", n: int | None = None, seed: int = 0) -> Steps[ArrayDataset]:
    """load_faces in steps: rendering (the first time) reports progress."""
    n = FACES_SIZES[split] if n is None else n
    factors = faces.sample_factors(n, seed, split)
    key = f"faces-v{faces.GENERATOR_VERSION}-{split}-seed{seed}-n{n}"
    warnings: tuple[str, ...] = ()
    if n >= _CACHE_FROM:
        images, warnings = yield from _rendered(key, factors)
    else:
        images = faces.render(factors)
    spec = PREFIX + ("faces" if split == "train" else f"faces:{split}")
    if (n, seed) != (FACES_SIZES[split], 0):
        spec += f"?n={n}&seed={seed}"
    return ArrayDataset(
        spec=spec,
        images=images,
        labels=factors,
        label_names=faces.FACTOR_NAMES,
        fingerprint=hashlib.sha256(key.encode()).hexdigest(),
        heldout_spec=PREFIX + "faces:test" if split == "train" else None,
        warnings=warnings,
    )


def _rendered(key: str, factors: np.ndarray) -> Steps[tuple[np.ndarray, tuple[str, ...]]]:
    """The faces from the disk cache, or rendered now and cached; a warning when they cannot be
    cached (a read-only or full disk only costs the next start another render)."""
    path = cache.cache_path(DATASETS, f"{key}.npy")
    shape = (len(factors), faces.IMAGE_SIZE, faces.IMAGE_SIZE, 3)
    images = cache.load_array(path, shape, np.uint8)
    if images is not None:
        return images, ()
    images = yield from faces.render_steps(factors)
    try:
        cache.save_array(cache.make_dir(DATASETS) / path.name, images)
    except OSError as e:
        return images, (cache.unwritable_warning(path.parent, e, "faces rendered in memory"),)
    return images, ()
