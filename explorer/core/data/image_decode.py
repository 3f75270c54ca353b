"""Image files to the model's input: what a folder's decoding worker processes run (folder.py).

This module imports numpy and PIL only, and a worker loads it by its path (folder.py), not
through its package, whose __init__ brings torch: a worker then starts in a fraction of a second
and small, where importing torch would cost about a second and a few hundred MB per worker.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps

# The largest image decoded (8,000 x 8,000): its header is read first, so a small file claiming a
# huge image (a decompression bomb) is refused before any pixel is. PIL's own limit is higher.
MAX_PIXELS = 64_000_000


def fit_image(im: Image.Image, size: int, channels: int) -> np.ndarray:
    """An image as the model takes it: grey or RGB, centre-cropped to a square of `size` px;
    uint8 (size, size, channels)."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: PIL's own "L" would clip at 255
        im = Image.fromarray((np.asarray(im, np.float64) * (255 / 65535)).round().clip(0, 255).astype(np.uint8))
    im = ImageOps.fit(im.convert("L" if channels == 1 else "RGB"), (size, size), method=Image.Resampling.LANCZOS)
    arr = np.asarray(im, dtype=np.uint8)
    return arr[..., None] if channels == 1 else arr


def read_image(path: str | os.PathLike, size: int, channels: int) -> np.ndarray:
    with Image.open(path) as im:
        if im.width * im.height > MAX_PIXELS:
            raise ValueError(f"{im.width:,} x {im.height:,} pixels, more than the {MAX_PIXELS:,} read")
        return fit_image(ImageOps.exif_transpose(im), size, channels)


def try_read(path: str | os.PathLike, size: int, channels: int) -> np.ndarray | str:
    """The image, or why it cannot be read (the caller names the file)."""
    try:
        return read_image(path, size, channels)
    # a DecompressionBombWarning is raised, not printed, where warnings are errors (the tests)
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return str(e)


def decode_files(paths: list, size: int, channels: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A chunk of files: (the readable ones' images in order, uint8 (k, size, size, channels);
    (position in `paths`, why) of each one that is not). One array per chunk crosses back to
    the parent process, not one object per image."""
    rows, failed = [], []
    for i, path in enumerate(paths):
        result = try_read(path, size, channels)
        if isinstance(result, str):
            failed.append((i, result))
        else:
            rows.append(result)
    images = np.stack(rows) if rows else np.empty((0, size, size, channels), np.uint8)
    return images, failed
