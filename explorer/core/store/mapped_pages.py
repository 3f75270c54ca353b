"""Pages of read-only memory-mapped arrays (np.load(mmap_mode="r"): a dataset's images, the
latents store) handed back to the system. Once read they count as this process's resident
memory until the map closes, the whole file in the end; they are the file's, clean, so
madvise(MADV_DONTNEED) drops them and the next read maps them again from the file (or the
system's file cache). A writable or copy-on-write map may hold changes that are not in the
file: it is never touched. Nothing happens where madvise is missing (Windows, macOS)."""

from __future__ import annotations

import mmap
from contextlib import suppress

import numpy as np


def file_mapping(array: object) -> mmap.mmap | None:
    """The read-only file mapping `array` is a view of, if any."""
    if not isinstance(array, np.ndarray) or array.flags.writeable:
        return None
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return base if isinstance(base, mmap.mmap) else None


def _advise(mapping: mmap.mmap, start: int = 0, length: int | None = None) -> bool:
    with suppress(OSError, ValueError):  # closed meanwhile, or the system refuses: nothing to give back
        if length is None:
            mapping.madvise(mmap.MADV_DONTNEED)
        else:
            mapping.madvise(mmap.MADV_DONTNEED, start, length)
        return True
    return False


def release_mappings(arrays) -> int:
    """Drop every page of the read-only mappings under `arrays`; how many mappings were."""
    if not hasattr(mmap, "MADV_DONTNEED"):
        return 0
    mappings = {id(m): m for m in map(file_mapping, arrays) if m is not None}
    return sum(_advise(m) for m in mappings.values())


def release_pages(images: np.ndarray) -> bool:
    """Drop the pages under `images` alone (rows just read: a chunk being encoded), not the
    rest of its mapping; True if they were."""
    mapping = file_mapping(images)
    if mapping is None or not hasattr(mmap, "MADV_DONTNEED") or images.size == 0 or not images.flags.c_contiguous:
        return False
    first = images.__array_interface__["data"][0] - np.frombuffer(mapping, np.uint8).ctypes.data
    last = first + images.nbytes  # a chunk's rows are contiguous in the file: one range
    if first < 0 or last > len(mapping):
        return False
    start = first // mmap.PAGESIZE * mmap.PAGESIZE  # madvise takes whole pages
    return _advise(mapping, start, last - start)
