"""A NumPy file of images as a dataset: `.npy` (the images) or `.npz` (the images and labels).

Images may be (N, H, W) grey, (N, H, W, C) or (N, C, H, W) with C of 1, 3 or 4; uint8, bool,
uint16, other integers within 0..255, or floats in [0, 1] or [-1, 1]. They are converted to the
model's input like a folder's images (grey or RGB, centre-cropped square, resized). In an
`.npz`, the images are the array named `images`, `x` or `X`, else the only array of 3 or 4
dimensions; every other 1-D numeric array of length N becomes a label. Files are read with
allow_pickle=False: an array of Python objects is refused, never unpickled. An `.npz` with an
array named `mu` and no image array is a file of precomputed latents instead (latents_file.py).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.core.data.base import ArrayDataset, DatasetError
from explorer.core.data.folder import fit_image
from explorer.core.steps import Progress, Steps

ARRAY_SUFFIXES = (".npy", ".npz")
IMAGE_NAMES = ("images", "x", "X")
CHUNK = 1024  # images converted per step


NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK"
MAX_NPZ_MEMBER = 8 * 2**30  # an .npz is unpacked into memory (an .npy is memory-mapped instead)
_READ_HEADER = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def open_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a .npy (as "images", memory-mapped) or a .npz, told apart by their bytes,
    not their name. Nothing is unpickled; a member whose header claims more than it holds is
    refused before it is read; any other damage is a DatasetError naming the file."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
        if head == NPY_MAGIC:
            return {"images": np.load(path, mmap_mode="r", allow_pickle=False)}
        if head.startswith(ZIP_MAGIC):
            return _npz_arrays(path)
    except DatasetError:
        raise
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e})") from None
    except MemoryError:
        raise DatasetError(f"{path}: its arrays are too large to read into memory") from None
    except Exception as e:  # a damaged header or zip fails in many ways (ValueError, TokenError, ...)
        if any(word in str(e) for word in ("allow_pickle", "Object arrays", "Python objects")):
            raise DatasetError(f"{path}: holds Python objects, which would have to be unpickled; refused") from None
        raise DatasetError(f"{path}: not a readable NumPy file ({type(e).__name__}: {e})") from None
    raise DatasetError(f"{path}: not a NumPy file (an .npy or .npz begins otherwise)")


def npy_header(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from an .npz member's .npy header, read without its data."""
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        shape, _fortran, dtype = _READ_HEADER.get(version, np.lib.format.read_array_header_2_0)(f)
    return shape, dtype


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue  # np.savez writes only .npy members; anything else is not an array
            name = info.filename[: -len(".npy")]
            shape, dtype = npy_header(z, info)
            if dtype.hasobject:
                raise DatasetError(f"{path}: {name} holds Python objects, which would have to be unpickled; refused")
            claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if info.file_size > MAX_NPZ_MEMBER:
                raise DatasetError(
                    f"{path}: {name} holds {info.file_size:,} bytes, more than the {MAX_NPZ_MEMBER:,} an .npz may "
                    f"unpack into memory; save the images as an .npy, which is read from the file as needed"
                )
            if claimed > info.file_size:
                raise DatasetError(
                    f"{path}: {name} claims {shape} of {dtype} ({claimed:,} bytes) but holds {info.file_size:,}: "
                    f"truncated or damaged"
                )
            with z.open(info) as f:
                out[name] = np.lib.format.read_array(f, allow_pickle=False)
    return out


def _pick_images(path: Path, arrays: dict[str, np.ndarray]) -> str:
    for name in IMAGE_NAMES:
        if name in arrays:
            return name
    candidates = [k for k, a in arrays.items() if a.ndim in (3, 4)]
    if len(candidates) != 1:
        found = ", ".join(f"{k} {a.shape}" for k, a in arrays.items()) or "no arrays"
        raise DatasetError(
            f"{path}: cannot tell which array holds the images "
            f"(name it images, or mu for a file of latents; found {found})"
        )
    return candidates[0]


def channels_last(path: Path, images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) of the layouts the module docstring lists."""
    if images.ndim in (3, 4) and 0 in images.shape[1:]:
        raise DatasetError(f"{path}: images of shape {images.shape} have a side of no pixels")
    if images.ndim == 3:
        return images[..., None]
    if images.ndim == 4 and images.shape[-1] in (1, 3, 4):
        return images
    if images.ndim == 4 and images.shape[1] in (1, 3, 4):
        return np.moveaxis(images, 1, -1)
    raise DatasetError(
        f"{path}: images of shape {images.shape} are not (N, H, W), (N, H, W, C) or (N, C, H, W) with C of 1, 3 or 4"
    )


def to_uint8(part: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    if part.dtype == np.uint8:
        return np.asarray(part)
    lo, span = scale
    return np.clip(np.rint((np.asarray(part, np.float64) - lo) * (255.0 / span)), 0, 255).astype(np.uint8)


def value_scale(path: Path, images: np.ndarray) -> tuple[float, float]:
    """(offset, span) mapping the images' values onto 0..255, from their dtype and range."""
    if images.dtype == np.uint8:
        return 0.0, 255.0
    if images.dtype == np.bool_:
        return 0.0, 1.0
    if images.dtype == np.uint16:
        return 0.0, 65535.0
    if images.dtype.kind not in "iuf":  # numpy counts timedelta as integers: not pixel values
        raise DatasetError(f"{path}: images of type {images.dtype} are not numbers")
    lo, hi = float(np.min(images)), float(np.max(images))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DatasetError(f"{path}: the images hold NaN or infinite values")
    if np.issubdtype(images.dtype, np.integer):
        if lo < 0 or hi > 255:
            raise DatasetError(f"{path}: integer images must lie in 0..255, found {lo:g}..{hi:g}")
        return 0.0, 255.0
    if lo >= 0 and hi <= 1:
        return 0.0, 1.0
    if lo >= -1 and hi <= 1:
        return -1.0, 2.0
    raise DatasetError(f"{path}: float images must lie in [0, 1] or [-1, 1], found {lo:g}..{hi:g}")


def is_numeric(a: np.ndarray) -> bool:
    """Numbers or booleans (what a label column may hold)."""
    return np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_


def labels_of(
    arrays: dict[str, np.ndarray], skip: tuple[str, ...], n: int, unit: str = "images"
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(labels (n, L), label names, warnings): every array not in `skip` that is 1-D, numeric,
    finite and of length n is a label; the others are left out, named in one warning. Shared
    by the images .npz here and the latents .npz (latents_file.py)."""
    columns, names, ignored = [], [], []
    for name, a in arrays.items():
        if name in skip:
            continue
        if a.ndim == 1 and len(a) == n and is_numeric(a) and np.isfinite(np.asarray(a, np.float64)).all():
            columns.append(np.asarray(a, np.float32))
            names.append(name)
        else:
            ignored.append(f"{name} {a.shape} {a.dtype}")
    labels = np.stack(columns, 1) if columns else np.zeros((n, 0), np.float32)
    warnings = (
        (f"arrays that are not labels of the {n:,} {unit} were left out: {', '.join(ignored)}",) if ignored else ()
    )
    return labels, tuple(names), warnings


def _fingerprint(path: Path, image_size: int, channels: int) -> str:
    return file_hash(path, f"arrays|{image_size}|{channels}|")


def file_hash(path: Path, prefix: str) -> str:
    """sha256 of `prefix` and the file's bytes (a file's fingerprint: it keys the encodings cache)."""
    h = hashlib.sha256(prefix.encode())
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def array_steps(path: Path, image_size: int = 64, channels: int = 3) -> Steps[ArrayDataset]:
    """Read the file's images and labels, converting CHUNK images per step (with progress)."""
    arrays = open_arrays(path)
    key = _pick_images(path, arrays)
    images = channels_last(path, arrays[key])
    n = len(images)
    if n == 0:
        raise DatasetError(f"{path}: the images array {key!r} is empty")
    labels, names, warnings = labels_of(arrays, (key,), n)
    if images.dtype == np.uint8 and images.shape[1:] == (image_size, image_size, channels):
        # already the model's input: read from the file as the explorer asks (a .npy is memory-
        # mapped, so a dataset larger than memory opens in the same bounded memory)
        out = images
    else:
        out = yield from _converted(images, value_scale(path, images), image_size, channels)
    return ArrayDataset(
        spec=str(path),
        images=out,
        labels=labels,
        label_names=names,
        fingerprint=_fingerprint(path, image_size, channels),
        warnings=warnings,
    )


def _converted(images: np.ndarray, scale: tuple[float, float], image_size: int, channels: int) -> Steps[np.ndarray]:
    """The images at the model's size, channels and uint8 range, CHUNK per step."""
    n = len(images)
    out = np.empty((n, image_size, image_size, channels), np.uint8)
    for start in range(0, n, CHUNK):
        part = to_uint8(images[start : start + CHUNK], scale)
        for i, img in enumerate(part):
            pixels = img[..., 0] if img.shape[-1] == 1 else img  # PIL takes (H, W) grey, (H, W, 3|4) colour
            out[start + i] = fit_image(Image.fromarray(pixels), image_size, channels)
        yield Progress(min(start + CHUNK, n), n, "converting images")
    return out
