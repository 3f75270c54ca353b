"""Native memory that model calls leave behind: bounded caches, and freed memory handed back.

Hovering with strips and grids in between grew the window's resident memory by hundreds of MB
while Python's objects stayed level (benchmarks/memory_storm.py). Two things outside Python:

- oneDNN, which runs torch's CPU convolutions, caches its primitives per layer and input shape,
  and torch's ideep layer keeps an LRU of its own; 1,024 entries each by default. Each strip of
  a new length, each grid, each encoding chunk of a new size is a new batch shape: for the
  bundled model about 0.35 MB more per shape, never given back.
- glibc's malloc serves blocks of 128 KiB or more with their own mmap, unmapped on free. But
  freeing such a block raises that threshold to its size (up to 32 MiB): after the first strip,
  the activations of every later one, each of a new size, come from the heap, in holes between
  blocks still in use; what they free stays resident.

Neither is a leak that Python can see, so the fix is here: cap the caches before the first
convolution, and after a large decode, once its results have replaced the old ones, return the
heap's free pages (malloc_trim walks every thread's arena).

A third kind of resident memory is not a leak at all but looks like one: the pages of a
memory-mapped dataset or latents file count as the window's own once read, until the whole
file is resident (245 MB for the bundled faces; gigabytes for a million images). They are
the file's, clean and re-readable, so they are handed back too
(explorer/core/store/mapped_pages.py).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

# Entries per cache. A batch shape takes more than a dozen (a layer each, and reorders), so the
# cursor's shapes (1 and 8 latents) outlast several figures of new sizes decoded in a row, and
# the caches stay under about 20 MB. oneDNN reads these once, when it first runs; a value the
# user set is kept.
CACHE_CAPACITY = 128
CACHE_VARIABLES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")


def bound_model_caches() -> None:
    """Cap oneDNN's caches; call before the process's first model call to take effect."""
    for name in CACHE_VARIABLES:
        os.environ.setdefault(name, str(CACHE_CAPACITY))


def _malloc_trim():
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return None  # other allocators (musl, macOS, Windows) have no malloc_trim
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Hand the free pages malloc holds in every arena back to the system. Takes some ms
    (it walks each arena and unmaps what is free); False where there is nothing to call."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
