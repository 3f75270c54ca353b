"""Datasets by SPEC: `builtin:faces`, `builtin:faces:test`, a folder of images, a NumPy
`.npy` / `.npz` file of images (arrays.py), or an `.npz` of precomputed latents (latents_file.py:
one holding `mu` and no image array).

Every dataset meets DatasetLike (base.py): length, images_at(indices), labels, fingerprint.
The image loaders return ArrayDataset (also named Dataset), which keeps its images in one array;
a latents file gives a LatentsDataset, whose points have no images (has_images).
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.core.data.arrays import ARRAY_SUFFIXES, array_steps
from explorer.core.data.base import ArrayDataset, Dataset, DatasetError, DatasetLike, IndexedImages, has_images
from explorer.core.data.builtin import PREFIX as BUILTIN_PREFIX
from explorer.core.data.builtin import builtin_specs, builtin_steps, load_faces
from explorer.core.data.folder import folder_steps
from explorer.core.data.latents_file import NO_IMAGE, LatentsDataset, check_latent_size, is_latents_file, latents_steps
from explorer.core.steps import Steps, run_steps

__all__ = [
    "NO_IMAGE",
    "ArrayDataset",
    "Dataset",
    "DatasetError",
    "DatasetLike",
    "IndexedImages",
    "LatentsDataset",
    "builtin_specs",
    "check_image_shape",
    "check_latent_size",
    "check_spec",
    "dataset_steps",
    "for_model_steps",
    "has_images",
    "is_latents_file",
    "load_dataset",
    "load_faces",
    "load_for_model",
]


def check_spec(spec: str | os.PathLike) -> str | Path:
    """Cheap checks that a SPEC names something loadable: the builtin spec, or the folder path.

    Raises DatasetError before any slow work, so a typo fails at once.
    """
    spec_str = str(spec)
    if spec_str.startswith(BUILTIN_PREFIX):
        if spec_str not in builtin_specs():
            raise DatasetError(f"unknown built-in dataset {spec_str!r}; available: {', '.join(builtin_specs())}")
        return spec_str
    path = Path(spec_str).expanduser()
    hint = (
        f"a data SPEC is {', '.join(builtin_specs())}, a folder of images, a .npy / .npz file of images "
        "or a .npz of latents (mu)"
    )
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder ({hint})")
    if path.is_file() and path.suffix.lower() in ARRAY_SUFFIXES:
        return path
    if not path.is_dir():
        raise DatasetError(f"{path}: is a file, not a folder of images ({hint})")
    return path


def load_dataset(
    spec: str | os.PathLike, image_size: int = 64, channels: int = 3, labels: str | None = None
) -> DatasetLike:
    """Load the dataset a SPEC names. image_size and channels apply to image folders and files
    (and size a latents file's placeholders); `labels` names a labels file for a folder (--labels)."""
    return run_steps(dataset_steps(spec, image_size, channels, labels))


def dataset_steps(
    spec: str | os.PathLike, image_size: int = 64, channels: int = 3, labels: str | None = None
) -> Steps[DatasetLike]:
    """load_dataset in steps (rendering or reading images reports progress)."""
    checked = check_spec(spec)
    if labels:
        labels_file = check_labels_file(labels, checked)
        return (yield from folder_steps(checked, image_size, channels, labels_file=labels_file))
    if isinstance(checked, Path) and is_latents_file(checked):
        return (yield from latents_steps(checked, (channels, image_size, image_size)))
    if isinstance(checked, Path) and checked.is_file():
        return (yield from array_steps(checked, image_size, channels))
    if isinstance(checked, Path):
        return (yield from folder_steps(checked, image_size, channels))
    return (yield from builtin_steps(checked))


def load_for_model(
    spec: str | os.PathLike,
    image_shape: tuple[int, int, int],
    latent_dim: int | None = None,
    labels: str | None = None,
) -> DatasetLike:
    """Load a dataset at a model's image size; DatasetError when its images cannot fit the model,
    or (given the model's latent_dim) when its precomputed latents are of another size."""
    dataset = run_steps(for_model_steps(spec, image_shape, labels))
    if latent_dim is not None:
        check_latent_size(dataset, latent_dim)
    return dataset


def check_labels_file(labels: str, checked: str | Path) -> Path:
    """--labels FILE: a readable file, given with a folder of images (whose file names it lists)."""
    path = Path(labels).expanduser()
    if not (isinstance(checked, Path) and checked.is_dir()):
        raise DatasetError(f"--labels {path}: a labels file names the images of a folder; {checked} is not a folder")
    if not path.is_file():
        raise DatasetError(f"--labels {path}: no such file")
    return path


def for_model_steps(
    spec: str | os.PathLike, image_shape: tuple[int, int, int], labels: str | None = None
) -> Steps[DatasetLike]:
    """load_for_model in steps (without the latent size check: check_latent_size)."""
    checked = check_spec(spec)
    if isinstance(checked, Path) and is_latents_file(checked) and not labels:  # placeholders at the model's shape
        return (yield from latents_steps(checked, tuple(image_shape)))
    c, h, _w = image_shape
    dataset = yield from dataset_steps(spec, image_size=h, channels=c, labels=labels)
    return check_image_shape(dataset, image_shape)


def check_image_shape(dataset: DatasetLike, image_shape: tuple[int, int, int]) -> DatasetLike:
    """`dataset`, if its images are the model's shape; DatasetError naming it otherwise."""
    if tuple(dataset.image_shape) != tuple(image_shape):
        raise DatasetError(
            f"{dataset.spec}: its images are {'x'.join(map(str, dataset.image_shape))} (channels x height "
            f"x width), but the model takes {'x'.join(map(str, image_shape))}"
        )
    return dataset
