"""The one small interface every dataset meets (DatasetLike), and its in-memory implementation.

The explorer reads images through `images_at(indices)`, a batch at a time, so a dataset may keep
its pixels anywhere: one array in memory or memory-mapped (ArrayDataset), or files read from
disk on demand. Labels are small and stay one (N, L) array.

`Dataset` is the name the code base has always constructed (`Dataset(spec, images, labels,
label_names, fingerprint, ...)`): it is ArrayDataset. New code that only reads a dataset should
annotate with DatasetLike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from explorer_models.errors import UserInputError

# Which images to read: a range (a chunk of an encoding), a sequence or array of ints, a slice.
Indices = range | slice | Sequence[int] | np.ndarray


class DatasetError(UserInputError):
    """A data SPEC, folder or image file that cannot be used; the message names it."""


@runtime_checkable
class DatasetLike(Protocol):
    """What the explorer needs of a dataset (all read-only)."""

    @property
    def spec(self) -> str:
        """How the user named it, e.g. "builtin:faces" or a folder path."""
        ...

    @property
    def labels(self) -> np.ndarray:
        """(N, L) float32, one column per label name (small: always in memory)."""
        ...

    @property
    def label_names(self) -> tuple[str, ...]: ...

    @property
    def fingerprint(self) -> str:
        """Changes whenever the pixels or labels could; keys the encodings cache."""
        ...

    @property
    def file_names(self) -> tuple[str, ...] | None:
        """Per image, for data read from files."""
        ...

    @property
    def heldout_spec(self) -> str | None:
        """A held-out split of the same data, if there is one."""
        ...

    @property
    def problems(self) -> tuple[str, ...]:
        """Files skipped while loading, one message each."""
        ...

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the user should know but that stops nothing (e.g. the cache cannot be written)."""
        ...

    def __len__(self) -> int: ...

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W), as the model contract counts it."""
        ...

    def images_at(self, indices: Indices) -> np.ndarray:
        """uint8 (k, H, W, C) images in the order of `indices`; IndexError for an index out of
        range. The result may be a read-only view: copy it before writing into it."""
        ...

    def label(self, name: str) -> np.ndarray:
        """The (N,) column of one label."""
        ...

    def binary_label_names(self) -> tuple[str, ...]:
        """Labels whose known values are all 0 or 1 (the ones an attribute vector can split on)."""
        ...


class LabelsMixin:
    """label() and binary_label_names() for any dataset with `labels` and `label_names`."""

    labels: np.ndarray
    label_names: tuple[str, ...]

    def label(self, name: str) -> np.ndarray:
        return self.labels[:, self.label_names.index(name)]

    def binary_label_names(self) -> tuple[str, ...]:
        # a pass over every label: made once (labels never change), on the thread that opens the data
        names = self.__dict__.get("_binary_label_names")
        if names is None:
            names = tuple(n for i, n in enumerate(self.label_names) if _all_binary(self.labels[:, i]))
            object.__setattr__(self, "_binary_label_names", names)  # also on frozen dataclasses
        return names


LABEL_BLOCK = 65_536  # values per numpy call: each short, so other threads get the GIL between


def _all_binary(column: np.ndarray) -> bool:
    """Every known value is 0 or 1, and some are known (NaN: a row a labels file did not give;
    checked a block at a time, stopping at the first other value)."""
    known = False
    for i in range(0, len(column), LABEL_BLOCK):
        part = np.asarray(column[i : i + LABEL_BLOCK])
        if not ((part == 0) | (part == 1) | np.isnan(part)).all():
            return False
        known = known or not np.isnan(part).all()
    return known


def as_index(indices: Indices, n: int) -> slice | np.ndarray:
    """`indices` as a numpy index into n rows: a slice for a forward range (a memory map then
    reads one contiguous block), else an int array. IndexError when one is out of range."""
    if isinstance(indices, slice):
        return slice(*indices.indices(n))
    if isinstance(indices, range) and indices.step > 0 and indices.start >= 0:
        if len(indices) and indices[-1] >= n:
            raise IndexError(f"index {indices[-1]} is out of range for {n} images")
        return slice(indices.start, indices.start + len(indices) * indices.step, indices.step)
    idx = np.asarray(indices, dtype=np.intp).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"indices {idx.min()}..{idx.max()} are out of range for {n} images")
    return idx


@dataclass(frozen=True)
class ArrayDataset(LabelsMixin):
    """A dataset whose images are one (N, H, W, C) uint8 array, in memory or memory-mapped."""

    # the fields, in the order they have always been passed; DatasetLike documents each
    spec: str
    images: np.ndarray  # (N, H, W, C) uint8; may be memory-mapped (the window still reads it directly)
    labels: np.ndarray  # (N, L) float32
    label_names: tuple[str, ...]
    fingerprint: str
    file_names: tuple[str, ...] | None = None
    heldout_spec: str | None = None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # new: last, so positional construction stays as it was
    labels_file: str = ""  # a labels file given with --labels (one inside the folder is found again)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images), len(self.label_names)):
            raise ValueError(
                f"labels {self.labels.shape} do not match {len(self.images)} images "
                f"x {len(self.label_names)} label names"
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        _n, h, w, c = self.images.shape
        return (c, h, w)

    def images_at(self, indices: Indices) -> np.ndarray:
        return np.asarray(self.images[as_index(indices, len(self))])


# The name every caller has constructed so far; see the module docstring.
Dataset = ArrayDataset


def has_images(dataset: DatasetLike) -> bool:
    """Whether the dataset's points have images of their own. A dataset of precomputed latents
    (latents_file.py) has none: its images_at gives placeholders, and a view that shows a data
    point's image says so instead. Any dataset without a `has_images` attribute has images."""
    return bool(getattr(dataset, "has_images", True))


class IndexedImages:
    """A dataset's images as `images[i]` -> (H, W, C), read one at a time through images_at: for
    code that takes "the dataset's images" but only picks a few (a figure's originals)."""

    def __init__(self, dataset: DatasetLike):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.dataset.images_at([index])[0]


SHOWN_PROBLEMS = 10  # files named one by one before the rest are counted


def skipped_lines(problems: tuple[str, ...], shown: int = SHOWN_PROBLEMS) -> list[str]:
    """What to tell a user of the files a dataset skipped: the first `shown` by name (each line
    says why), then how many more; [] when none was skipped."""
    lines = [f"skipped {p}" for p in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"skipped {len(problems) - shown:,} more unreadable files ({len(problems):,} in all)")
    return lines
