"""A folder of image files (searched recursively) as a dataset, with labels from a labels file
inside it when there is one (label_files.py).

Images are centre-cropped to a square and resized to the model's size. An unreadable file
is skipped and reported, so one bad file does not cost the user the other ten thousand.
A large folder is decoded in worker processes (image_decode.py), TASK_FILES files a task.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing, suppress
from pathlib import Path

import numpy as np

from explorer.core.data import image_decode
from explorer.core.data.base import ArrayDataset, DatasetError
from explorer.core.data.image_decode import MAX_PIXELS, fit_image
from explorer.core.data.label_files import class_labels, find_labels_file, read_labels
from explorer.core.steps import Progress, Steps
from explorer.core.store import cache
from explorer_models.atomic import printable, process_alive

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "fit_image", "folder_steps"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
IN_MEMORY_BYTES = 512 * 2**20  # decoded images beyond this go to a memory-mapped file in the cache
DECODED = "decoded-folders"  # that file's folder in the cache
MAX_DECODED = 4  # decoded folders kept there, the most recently used
# Fewer files than this are decoded in this process (on threads): starting worker processes
# costs a few tenths of a second, about what decoding this many small images takes.
PROCESS_MIN_FILES = 2048
# Files a worker decodes per task: one array of their images comes back, not one per image. Few
# enough that a cancel, which waits for the tasks already running, waits a fraction of a second.
TASK_FILES = 64


def _try_read(path: Path, size: int, channels: int) -> np.ndarray | str:
    """The image, or the message that names the file and says why it is skipped."""
    result = image_decode.try_read(path, size, channels)
    return result if isinstance(result, np.ndarray) else _problem(path, result)


def _problem(path: Path, why: str) -> str:
    return f"{printable(path)}: cannot read this image ({why})"


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

    def add(self, rows: np.ndarray | list[np.ndarray]) -> None:
        if len(rows) == 0:
            return
        if self.path is None:
            self.array[self.count : self.count + len(rows)] = rows
        else:
            with open(self.path, "r+b") as f:
                f.seek(self.offset + self.count * int(np.prod(self.shape[1:])))
                f.write(np.ascontiguousarray(np.asarray(rows)).tobytes())
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
    tasks = []  # (its first file, its files, whether it ends a chunk): each chunk cut into TASK_FILES
    for start in range(0, len(files), chunk):
        part = files[start : start + chunk]
        for i in range(0, len(part), TASK_FILES):
            tasks.append((start + i, part[i : i + TASK_FILES], i + TASK_FILES >= len(part)))
    with closing(_decoded_tasks([t[1] for t in tasks], image_size, channels)) as decoded:  # closed at once on a cancel
        for (start, task, ends_chunk), (rows, failed) in zip(tasks, decoded):
            skipped = {i for i, _ in failed}
            kept += [start + i for i in range(len(task)) if i not in skipped]
            problems += [message for _, message in failed]
            out.add(rows)
            if ends_chunk:
                yield Progress(start + len(task), len(files), "reading images")
    return out.result(), kept, tuple(problems)


def _decoded_tasks(tasks: list[list[Path]], size: int, channels: int) -> Generator[tuple, None, None]:
    """(images, [(position, message), ...]) of each list of files, in order. Closing the
    generator (a cancel) cancels the tasks not started and ends the worker processes."""
    workers = min(_cpus(), len(tasks))
    big = sum(map(len, tasks)) >= PROCESS_MIN_FILES
    pool = _process_pool(workers) if workers > 1 and big else None
    if pool is None:
        yield from _in_process(tasks, size, channels)
        return
    asked: deque[Future] = deque()
    try:
        for i, task in enumerate(tasks):
            try:
                while len(asked) < 2 * workers and i + len(asked) < len(tasks):  # a few ahead: bounded memory
                    asked.append(pool.submit(image_decode.decode_files, tasks[i + len(asked)], size, channels))
                rows, failed = asked.popleft().result()
            # a worker died or none could start (BrokenProcessPool, or EOFError from a forkserver
            # that died): the rest is read here
            except Exception:
                yield from _in_process(tasks[i:], size, channels)
                return
            yield rows, [(j, _problem(task[j], why)) for j, why in failed]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a cancel: what has not started never will


def _in_process(tasks: list[list[Path]], size: int, channels: int) -> Generator[tuple, None, None]:
    """_decoded_tasks on threads of this process (PIL decodes with the GIL released)."""
    with ThreadPoolExecutor() as pool:
        for task in tasks:
            results = list(pool.map(lambda p: _try_read(p, size, channels), task))
            failed = [(i, r) for i, r in enumerate(results) if isinstance(r, str)]
            yield [r for r in results if not isinstance(r, str)], failed


# A worker process runs this first: it loads image_decode.py by its path, so that unpickling
# its function finds the module loaded and never imports the package (whose __init__ brings torch).
_LOAD_BY_PATH = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location(name, path)
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
"""


def _process_pool(workers: int) -> ProcessPoolExecutor | None:
    """Worker processes started from a fresh interpreter ("forkserver", else "spawn"), never
    forked from this one: a fork of a process with threads (Qt's, torch's) may inherit a lock
    held by a thread that does not exist in the child, and hang there. None when they cannot be
    started (the caller decodes in this process).

    As with any such start, a worker first imports the program's main module (multiprocessing's
    rule): the `vae-explorer` command and a notebook need nothing, but a script that opens a
    large folder at its top level must do so under `if __name__ == "__main__":`. Without it each
    worker process runs the script's top level again, as multiprocessing's workers do; the
    folder still opens right (a worker that cannot start leaves the images to this process)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    where = {"name": image_decode.__name__, "path": image_decode.__file__}
    try:
        return ProcessPoolExecutor(workers, mp_context=context, initializer=exec, initargs=(_LOAD_BY_PATH, where))
    except (OSError, ValueError):
        return None


def _cpus() -> int:
    """The CPUs this process may run on (a container or `taskset` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
