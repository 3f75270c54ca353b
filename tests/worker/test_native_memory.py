import os
import platform
import sys

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
