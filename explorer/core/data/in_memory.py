"""A dataset from arrays a user already holds in Python (explorer.show, explorer.encode): numpy
arrays or torch tensors in the layouts and value ranges an .npy file may have (arrays.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from explorer.core.data.arrays import channels_last, to_uint8, value_scale
from explorer.core.data.base import ArrayDataset, DatasetError
from explorer_models.sources import IN_MEMORY_PREFIX

SPEC = IN_MEMORY_PREFIX + "images"  # how the window and sidecars name data that came from no file


def as_numpy(a, what: str) -> np.ndarray:
    """A numpy array from an array, a torch tensor (any device) or a nested list."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch, without importing it here
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as e:
        raise DatasetError(f"{what}: not an array ({e})") from e


def image_array(images, what: str = "images") -> np.ndarray:
    """uint8 (N, H, W, C) images from (N, H, W), (N, H, W, C) or (N, C, H, W) numbers."""
    array = as_numpy(images, what)
    if array.dtype == object:
        raise DatasetError(f"{what}: an array of Python objects, not of numbers")
    if array.ndim not in (3, 4) or len(array) == 0:
        raise DatasetError(f"{what}: shape {array.shape}; give (N, H, W), (N, H, W, C) or (N, C, H, W) with N > 0")
    array = channels_last(what, array)
    return np.ascontiguousarray(to_uint8(array, value_scale(what, array)))


def label_columns(labels, label_names: Sequence[str] | None, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """(N, L) float32 labels and their names from an (N,) or (N, L) array, or a dict of name -> (N,)."""
    if labels is None:
        return np.zeros((n, 0), np.float32), ()
    if isinstance(labels, dict):
        columns = {name: as_numpy(v, f"labels[{name!r}]") for name, v in labels.items()}
        bad = next(((k, v.shape) for k, v in columns.items() if v.shape != (n,)), None)
        if not columns or bad is not None:
            found = f"{bad[0]!r} has shape {bad[1]}" if bad else "the dict is empty"
            raise DatasetError(f"labels: give one ({n},) array per label name; {found}")
        label_names, labels = list(columns), np.stack(list(columns.values()), 1)
    given = as_numpy(labels, "labels")
    array = given[:, None] if given.ndim == 1 else given
    if array.ndim != 2 or len(array) != n:
        raise DatasetError(f"labels: shape {given.shape}; give ({n},) or ({n}, L), one row per image")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DatasetError(f"labels: of type {array.dtype}, not numbers")
    names = tuple(label_names) if label_names is not None else tuple(f"label{i}" for i in range(array.shape[1]))
    if len(names) != array.shape[1] or not all(isinstance(x, str) and x for x in names):
        raise DatasetError(f"label_names: {len(names)} names for {array.shape[1]} label columns; give one text each")
    return array.astype(np.float32), names


def in_memory_dataset(images, labels=None, label_names: Sequence[str] | None = None) -> ArrayDataset:
    pixels = image_array(images)
    columns, names = label_columns(labels, label_names, len(pixels))
    h = hashlib.sha256(f"{SPEC}|{pixels.shape}|".encode())
    h.update(pixels.tobytes())
    h.update(columns.tobytes() + "|".join(names).encode())
    return ArrayDataset(spec=SPEC, images=pixels, labels=columns, label_names=names, fingerprint=h.hexdigest())
