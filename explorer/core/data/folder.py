"""A folder of image files (searched recursively) as a dataset, with labels from a labels file
inside it when there is one (label_files.py).

Images are centre-cropped to a square and resized to the model's size. An unreadable file
is skipped and reported, so one bad file does not cost the user the other ten thousand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from explorer.core.data.base import ArrayDataset, DatasetError
from explorer.core.data.label_files import class_labels, find_labels_file, read_labels
from explorer.core.steps import Progress, Steps
from explorer.core.store import cache
from explorer_models.atomic import printable, process_alive

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# The largest image decoded (8,000 x 8,000): its header is read first, so a small file claiming a
# huge image (a decompression bomb) is refused before any pixel is. PIL's own limit is higher.
MAX_PIXELS = 64_000_000
IN_MEMORY_BYTES = 512 * 2**20  # decoded images beyond this go to a memory-mapped file in the cache
DECODED = "decoded-folders"  # that file's folder in the cache
MAX_DECODED = 4  # decoded folders kept there, the most recently used


def fit_image(im: Image.Image, size: int, channels: int) -> np.ndarray:
    """An image as the model takes it: grey or RGB, centre-cropped to a square of `size` px;
    uint8 (size, size, channels)."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: PIL's own "L" would clip at 255
        im = Image.fromarray((np.asarray(im, np.float64) * (255 / 65535)).round().clip(0, 255).astype(np.uint8))
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
    from `labels_file` (--labels), else a labels.csv / list_attr_celeba.txt in the folder.

    A folder whose images at the model's size take more than IN_MEMORY_BYTES is decoded once
    into a memory-mapped file in the cache (bounded memory; a second open reads it at once)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{folder}: no image files found (looked for {', '.join(IMAGE_SUFFIXES)})")
    shape = (len(files), image_size, image_size, channels)
    warnings: tuple[str, ...] = ()
    if int(np.prod(shape)) <= IN_MEMORY_BYTES:
        images, kept, problems = yield from _decode(files, _Rows(shape), chunk, image_size, channels)
    else:
        decoded = yield from _decoded_on_disk(folder, files, shape, chunk)
        images, kept, problems, warnings = decoded
    if not kept:
        raise DatasetError(
            f"{folder}: none of its {len(files)} image files could be read; first problem: {problems[0]}"
        )
    kept_files = [files[i] for i in kept]
    h = hashlib.sha256(f"folder|{image_size}|{channels}".encode())
    for p in kept_files:
        st = p.stat()  # the name's own bytes: a name need not be valid UTF-8
        h.update(os.fsencode(p.relative_to(folder)) + f"|{st.st_size}|{st.st_mtime_ns}\n".encode())
    # as text that prints and saves anywhere: bytes of a name that are not UTF-8 become U+FFFD
    file_names = [printable(p.relative_to(folder)) for p in kept_files]
    labels, label_names = class_labels(file_names)
    given = labels_file
    if (labels_file := given or find_labels_file(folder)) is not None:
        more, more_names, label_warnings = read_labels(labels_file, file_names)
        labels, label_names = np.concatenate([labels, more], 1), label_names + more_names
        warnings += label_warnings
        h.update(labels_file.read_bytes())  # new labels, new dataset (and new cached encodings key)
    return ArrayDataset(
        spec=str(folder),
        images=images,
        labels=labels,
        label_names=label_names,
        fingerprint=h.hexdigest(),
        file_names=tuple(file_names),
        problems=problems,
        warnings=warnings,
        labels_file=str(given.resolve()) if given is not None else "",
    )


class _Rows:
    """Where decoded images go, one row after another: an array in memory, or an .npy file
    written in sequence (its pages are the system's file cache, not this process's memory)."""

    def __init__(self, shape: tuple[int, ...], path: Path | None = None):
        self.shape, self.path, self.count = shape, path, 0
        if path is None:
            self.array = np.empty(shape, np.uint8)
            return
        with open(path, "wb") as f:
            header = {"descr": np.dtype(np.uint8).str, "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(f, header)
            self.offset = f.tell()
            f.truncate(self.offset + int(np.prod(shape)))  # the rows' room, filled as they come

    def add(self, rows: list[np.ndarray]) -> None:
        if not rows:
            return
        if self.path is None:
            self.array[self.count : self.count + len(rows)] = rows
        else:
            with open(self.path, "r+b") as f:
                f.seek(self.offset + self.count * int(np.prod(self.shape[1:])))
                f.write(np.stack(rows).tobytes())
        self.count += len(rows)

    def result(self) -> np.ndarray:
        return self.array[: self.count] if self.path is None else np.empty((0, *self.shape[1:]), np.uint8)


def _decode(
    files: list[Path], out: _Rows, chunk: int, image_size: int, channels: int
) -> Steps[tuple[np.ndarray, list[int], tuple[str, ...]]]:
    """Decode `files` into `out`, readable ones in order: (the images, the indices of the files
    they came from, one message per file skipped)."""
    kept: list[int] = []
    problems: list[str] = []
    with ThreadPoolExecutor() as pool:  # PIL decodes with the GIL released
        for start in range(0, len(files), chunk):
            part = files[start : start + chunk]
            rows = []
            for i, result in enumerate(pool.map(lambda p: _try_read(p, image_size, channels), part), start):
                if isinstance(result, str):
                    problems.append(result)
                else:
                    rows.append(result)
                    kept.append(i)
            out.add(rows)
            yield Progress(start + len(part), len(files), "reading images")
    return out.result(), kept, tuple(problems)


def _decoded_on_disk(folder: Path, files: list[Path], shape: tuple[int, ...], chunk: int):
    """(images, kept, problems, warnings) of a large folder from the cache (memory-mapped),
    decoding it there first when it is not yet; in memory, with a warning, when the cache
    cannot be written."""
    key = hashlib.sha256(f"decoded|{shape[1:]}".encode())
    for p in files:
        st = p.stat()
        key.update(os.fsencode(p) + f"|{st.st_size}|{st.st_mtime_ns}\n".encode())
    where = cache.cache_path(DECODED, key.hexdigest())
    found = _open_decoded(where, shape)
    if found is not None:
        with suppress(OSError):
            os.utime(where)  # used now: the last to be swept out
        yield Progress(len(files), len(files), "reading images (decoded before)")
        return (*found, ())
    try:
        cache.make_dir(DECODED)
        _sweep(where.parent)
        partial = where.with_name(f"{where.name}.{os.getpid()}.partial")
        partial.mkdir(exist_ok=True)
        rows = _Rows(shape, partial / "images.npy")
    except OSError as e:
        warning = cache.unwritable_warning(
            cache.cache_path(DECODED), e, f"the {shape[0]:,} images are held in memory instead"
        )
        decoded = yield from _decode(files, _Rows(shape), chunk, shape[1], shape[3])
        return (*decoded, (warning,))
    try:
        _, kept, problems = yield from _decode(files, rows, chunk, shape[1], shape[3])
        (partial / "decoded.json").write_text(json.dumps({"kept": kept, "problems": list(problems)}))
        partial.rename(where)
    except OSError:
        pass  # another process finished first, or the disk filled: read back what there is below
    except BaseException:  # cancelled (the generator closed) or failed: no half-written copy is kept
        shutil.rmtree(partial, ignore_errors=True)
        raise
    found = _open_decoded(where, shape)
    if found is not None:
        shutil.rmtree(partial, ignore_errors=True)  # renamed; or another process's copy won the race
    elif (found := _open_decoded(partial, shape)) is None:  # the rename failed: our copy serves, swept later
        shutil.rmtree(partial, ignore_errors=True)
        raise DatasetError(f"{folder}: the decoded images in the cache ({where}) cannot be read back")
    return (*found, ())


def _sweep(decoded: Path) -> None:
    """Keep the cache's decoded folders few: the copies a killed process left half-written go,
    and of the finished ones only the MAX_DECODED used most recently stay."""
    with suppress(OSError):
        entries = list(decoded.iterdir())
        for entry in entries:
            if entry.name.endswith(".partial"):
                pid = entry.name.rsplit(".", 2)[-2]
                if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)
        finished = sorted((e for e in entries if not e.name.endswith(".partial")), key=_last_used, reverse=True)
        for entry in finished[MAX_DECODED - 1 :]:  # room for the one about to be written
            shutil.rmtree(entry, ignore_errors=True)


def _last_used(entry: Path) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0


def _open_decoded(where: Path, shape: tuple[int, ...]):
    """(images, kept, problems) decoded before into `where`, or None."""
    try:
        meta = json.loads((where / "decoded.json").read_text())
        kept, problems = [int(i) for i in meta["kept"]], tuple(str(p) for p in meta["problems"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    images = cache.load_array(where / "images.npy", shape, np.uint8)
    if images is None or len(kept) + len(problems) != shape[0]:
        return None
    return images[: len(kept)], kept, problems
