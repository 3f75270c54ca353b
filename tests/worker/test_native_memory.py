import os
import platform
import sys

import numpy as np
import pytest

from explorer.core.store import mapped_pages
from explorer.worker import native_memory


def test_model_caches_are_capped_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    monkeypatch.setenv("LRU_CACHE_CAPACITY", "7")
    native_memory.bound_model_caches()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == str(native_memory.CACHE_CAPACITY)
    assert os.environ["LRU_CACHE_CAPACITY"] == "7"


def test_release_free_memory_calls_malloc_trim_on_glibc():
    glibc = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert native_memory.release_free_memory() is glibc


def _resident_kb(path) -> int:
    """This process's resident kB of the mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            if "-" in line.split(" ", 1)[0]:  # a mapping's first line: "start-end perms offset dev inode path"
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps; madvise frees pages on Linux")
def test_pages_read_from_a_mapped_file_are_handed_back_and_read_again(tmp_path):
    path = tmp_path / "images.npy"
    values = np.arange(4 * 1024 * 256, dtype=np.uint8).reshape(1024, 1024)  # 1 MiB
    np.save(path, values)
    mapped = np.load(path, mmap_mode="r")
    assert int(mapped[::16].sum(dtype=np.int64)) == int(values[::16].sum(dtype=np.int64))  # reads every page
    assert _resident_kb(path) >= 1024
    copy_on_write = np.load(path, mmap_mode="c")
    assert mapped_pages.release_mappings([mapped[10:20], mapped, copy_on_write, values]) == 1
    assert _resident_kb(path) < 64  # the copy-on-write one was never read; the read-only one let go
    assert np.array_equal(mapped, values)  # and reads the file again
