"""The one small interface every dataset meets: images, labels, and an identity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import UserInputError


class DatasetError(UserInputError):
    """A data SPEC, folder or image file that cannot be used; the message names it."""


@dataclass(frozen=True)
class Dataset:
    spec: str  # how the user named it, e.g. "builtin:faces" or a folder path
    images: np.ndarray  # (N, H, W, C) uint8; may be memory-mapped
    labels: np.ndarray  # (N, L) float32, one column per label name
    label_names: tuple[str, ...]
    fingerprint: str  # changes whenever the pixels or labels could; keys encoding caches
    file_names: tuple[str, ...] | None = None  # per image, for data read from files
    heldout_spec: str | None = None  # a held-out split of the same data, if there is one
    problems: tuple[str, ...] = ()  # files skipped while loading, one message each

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
        """(C, H, W), as the model contract counts it."""
        _n, h, w, c = self.images.shape
        return (c, h, w)

    def label(self, name: str) -> np.ndarray:
        return self.labels[:, self.label_names.index(name)]

    def binary_label_names(self) -> tuple[str, ...]:
        return tuple(n for i, n in enumerate(self.label_names) if np.isin(self.labels[:, i], (0.0, 1.0)).all())
