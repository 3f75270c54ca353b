"""A folder of image files (searched recursively) as a dataset, with labels from a labels file
inside it when there is one (label_files.py).

Images are centre-cropped to a square and resized to the model's size. An unreadable file
is skipped and reported, so one bad file does not cost the user the other ten thousand.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from explorer.core.data.base import ArrayDataset, DatasetError
from explorer.core.data.label_files import class_labels, find_labels_file, read_labels
from explorer.core.steps import Progress, Steps
from explorer_models.atomic import printable

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# The largest image decoded (8,000 x 8,000): its header is read first, so a small file claiming a
# huge image (a decompression bomb) is refused before any pixel is. PIL's own limit is higher.
MAX_PIXELS = 64_000_000


def fit_image(im: Image.Image, size: int, channels: int) -> np.ndarray:
    """An image as the model takes it: grey or RGB, centre-cropped to a square of `size` px;
    uint8 (size, size, channels)."""
    im = ImageOps.fit(im.convert("L" if channels == 1 else "RGB"), (size, size), method=Image.Resampling.LANCZOS)
    arr = np.asarray(im, dtype=np.uint8)
    return arr[..., None] if channels == 1 else arr


def _read_image(path: Path, size: int, channels: int) -> np.ndarray:
    with Image.open(path) as im:
        if im.width * im.height > MAX_PIXELS:
            raise ValueError(f"{im.width:,} x {im.height:,} pixels, more than the {MAX_PIXELS:,} read")
        return fit_image(ImageOps.exif_transpose(im), size, channels)


def _try_read(path: Path, size: int, channels: int) -> np.ndarray | str:
    try:
        return _read_image(path, size, channels)
    # a DecompressionBombWarning is raised, not printed, where warnings are errors (the tests)
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return f"{printable(path)}: cannot read this image ({e})"


def folder_steps(
    folder: Path, image_size: int = 64, channels: int = 3, chunk: int = 256, labels_file: Path | None = None
) -> Steps[ArrayDataset]:
    """Read the folder's images `chunk` at a time, with progress between chunks. Labels come
    from `labels_file` (--labels), else a labels.csv / list_attr_celeba.txt in the folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{folder}: no image files found (looked for {', '.join(IMAGE_SUFFIXES)})")
    results: list[np.ndarray | str] = []
    with ThreadPoolExecutor() as pool:  # PIL decodes with the GIL released
        for start in range(0, len(files), chunk):
            results += pool.map(lambda p: _try_read(p, image_size, channels), files[start : start + chunk])
            yield Progress(len(results), len(files), "reading images")
    kept = [(p, r) for p, r in zip(files, results) if not isinstance(r, str)]
    problems = tuple(r for r in results if isinstance(r, str))
    if not kept:
        raise DatasetError(
            f"{folder}: none of its {len(files)} image files could be read; first problem: {problems[0]}"
        )

    h = hashlib.sha256(f"folder|{image_size}|{channels}".encode())
    for p, _ in kept:
        st = p.stat()  # the name's own bytes: a name need not be valid UTF-8
        h.update(os.fsencode(p.relative_to(folder)) + f"|{st.st_size}|{st.st_mtime_ns}\n".encode())
    # as text that prints and saves anywhere: bytes of a name that are not UTF-8 become U+FFFD
    file_names = [printable(p.relative_to(folder)) for p, _ in kept]
    labels, label_names = class_labels(file_names)
    warnings: tuple[str, ...] = ()
    given = labels_file
    if (labels_file := given or find_labels_file(folder)) is not None:
        more, more_names, warnings = read_labels(labels_file, file_names)
        labels, label_names = np.concatenate([labels, more], 1), label_names + more_names
        h.update(labels_file.read_bytes())  # new labels, new dataset (and new cached encodings key)
    return ArrayDataset(
        spec=str(folder),
        images=np.stack([r for _, r in kept]),
        labels=labels,
        label_names=label_names,
        fingerprint=h.hexdigest(),
        file_names=tuple(file_names),
        problems=problems,
        warnings=warnings,
        labels_file=str(given.resolve()) if given is not None else "",
    )
