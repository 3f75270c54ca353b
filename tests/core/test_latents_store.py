"""The latents store: chunked writes, resume after a cancel, damaged stores, an unwritable cache."""

import errno
import json
import os

import numpy as np
import pytest

from explorer.core.data import ArrayDataset, load_dataset
from explorer.core.data import builtin as builtin_data
from explorer.core.steps import Progress, run_steps
from explorer.core.store import cache, encoding, latents

N, CHUNK, KEY = 50, 8, "model-data"
# target_seconds this small keeps every chunk at its floor of 8 rows: chunk sizes do not depend on the clock
FIXED_CHUNKS = dict(first_chunk=CHUNK, target_seconds=1e-9)


@pytest.fixture
def counting_vae(fake_vae):
    """A FakeVAE that records the size of every batch it encodes."""

    class CountingVAE(fake_vae):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encoded = []

        def encode(self, x):
            self.encoded.append(len(x))
            return super().encode(x)

    return CountingVAE


@pytest.fixture
def model(counting_vae):
    return counting_vae(latent_dim=3, image_shape=(3, 8, 8))


@pytest.fixture
def dataset():
    images = np.random.default_rng(1).integers(0, 256, (N, 8, 8, 3), dtype=np.uint8)
    return ArrayDataset("tiny", images, np.zeros((N, 0), np.float32), (), "fp")


@pytest.fixture
def full(model, dataset):
    """The dataset encoded in one go, in memory."""
    enc = encoding.encode_all(model, dataset.images)
    model.encoded.clear()
    return enc


def _run(model, dataset, key=KEY):
    """encode_dataset_steps to the end: (Encoded, the Progress it yielded)."""
    progress = []
    result = run_steps(encoding.encode_dataset_steps(model, dataset, "cpu", key, **FIXED_CHUNKS), progress.append)
    return result, progress


def _assert_same(enc, full):
    for column in latents.COLUMNS:
        assert np.allclose(getattr(enc, column), getattr(full, column), rtol=1e-6, atol=1e-6), column


def _store(isolated_cache, key=KEY):
    return isolated_cache / "encodings" / key


def test_a_store_written_in_chunks_equals_a_one_shot_encoding(isolated_cache, model, dataset, full):
    result, progress = _run(model, dataset)
    assert model.encoded == [8, 8, 8, 8, 8, 8, 2]
    assert progress == [Progress(d, N, "encoding") for d in (8, 16, 24, 32, 40, 48, 50)]
    assert result.warnings == () and result.resumed_from == 0
    _assert_same(result.encodings, full)
    assert isinstance(result.encodings.mu, np.memmap) and not result.encodings.mu.flags.writeable

    folder = _store(isolated_cache)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(f"{c}.npy" for c in latents.COLUMNS), "meta.json"])
    assert json.loads((folder / "meta.json").read_text()) == {
        "format": 2,
        "n": N,
        "d": 3,
        "done": N,
        "columns": list(latents.COLUMNS),
    }
    assert not (isolated_cache / "encodings" / f"{KEY}.partial").exists()
    _assert_same(encoding.open_cached(KEY, N), full)
    assert encoding.open_cached(KEY, N + 1) is None  # another size: not this store
    assert encoding.open_cached("other-key", N) is None

    model.encoded.clear()  # a second run reads the store and encodes nothing
    again, progress = _run(model, dataset)
    assert model.encoded == [] and progress == [] and again.resumed_from == N
    _assert_same(again.encodings, full)


def test_a_cancelled_encoding_keeps_its_rows_and_the_next_one_resumes(isolated_cache, model, dataset, full):
    steps = encoding.encode_dataset_steps(model, dataset, "cpu", KEY, **FIXED_CHUNKS)
    assert [next(steps).done for _ in range(3)] == [8, 16, 24]
    steps.close()  # cancel

    partial = isolated_cache / "encodings" / f"{KEY}.partial"
    assert json.loads((partial / "meta.json").read_text())["done"] == 24
    assert encoding.open_cached(KEY, N) is None  # a partial store is not an encoding
    written = np.load(partial / "mu.npy")
    assert np.allclose(written[:24], full.mu[:24], rtol=1e-6, atol=1e-6)

    model.encoded.clear()
    result, progress = _run(model, dataset)
    assert sum(model.encoded) == N - 24  # only the remaining rows
    assert result.resumed_from == 24 and result.warnings == ()
    assert [p.done for p in progress] == [32, 40, 48, 50]
    _assert_same(result.encodings, full)
    assert not partial.exists() and _store(isolated_cache).is_dir()


def test_a_closed_generator_releases_its_files(isolated_cache, model, dataset):
    steps = encoding.encode_dataset_steps(model, dataset, "cpu", KEY, **FIXED_CHUNKS)
    next(steps)
    steps.close()
    partial = isolated_cache / "encodings" / f"{KEY}.partial"
    if os.path.isdir(f"/proc/{os.getpid()}/fd"):
        held = {os.path.realpath(f"/proc/{os.getpid()}/fd/{fd}") for fd in os.listdir(f"/proc/{os.getpid()}/fd")}
        assert not any(h.startswith(str(partial)) for h in held)


def _damage_meta_garbage(folder):
    (folder / "meta.json").write_text("{not json")


def _damage_meta_not_an_object(folder):
    (folder / "meta.json").write_text("[1, 2]")


def _damage_meta_wrong_n(folder):
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps(meta | {"n": "fifty"}))


def _damage_column_too_short(folder):
    np.save(folder / "kl.npy", np.zeros(N - 1, np.float32))


def _damage_column_wrong_dtype(folder):
    np.save(folder / "mu.npy", np.zeros((N, 3), np.float64))


def _damage_column_truncated(folder):
    path = folder / "logvar.npy"
    path.write_bytes(path.read_bytes()[:200])


def _damage_column_missing(folder):
    (folder / "mse.npy").unlink()


DAMAGES = [
    _damage_meta_garbage,
    _damage_meta_not_an_object,
    _damage_meta_wrong_n,
    _damage_column_too_short,
    _damage_column_wrong_dtype,
    _damage_column_truncated,
    _damage_column_missing,
]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__[len("_damage_") :])
def test_a_damaged_complete_store_is_encoded_again(isolated_cache, model, dataset, full, damage):
    _run(model, dataset)
    damage(_store(isolated_cache))
    assert encoding.open_cached(KEY, N) is None

    model.encoded.clear()
    result, _ = _run(model, dataset)
    assert sum(model.encoded) == N and result.resumed_from == 0 and result.warnings == ()
    _assert_same(result.encodings, full)
    _assert_same(encoding.open_cached(KEY, N), full)  # and the store is sound again


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__[len("_damage_") :])
def test_a_damaged_partial_store_is_started_again(isolated_cache, model, dataset, full, damage):
    steps = encoding.encode_dataset_steps(model, dataset, "cpu", KEY, **FIXED_CHUNKS)
    next(steps), next(steps)
    steps.close()
    damage(isolated_cache / "encodings" / f"{KEY}.partial")

    model.encoded.clear()
    result, _ = _run(model, dataset)
    assert sum(model.encoded) == N and result.resumed_from == 0 and result.warnings == ()
    _assert_same(result.encodings, full)


def test_a_partial_store_of_another_latent_size_is_not_resumed(isolated_cache, counting_vae, model, dataset, full):
    other = counting_vae(latent_dim=5, image_shape=(3, 8, 8))
    steps = encoding.encode_dataset_steps(other, dataset, "cpu", KEY, **FIXED_CHUNKS)
    next(steps)
    steps.close()
    result, _ = _run(model, dataset)
    assert sum(model.encoded) == N and result.resumed_from == 0
    _assert_same(result.encodings, full)


def test_a_store_of_the_first_format_is_still_read(isolated_cache, full):
    folder = _store(isolated_cache)
    folder.mkdir(parents=True)
    for column in latents.COLUMNS:
        np.save(folder / f"{column}.npy", getattr(full, column))
    (folder / "meta.json").write_text(json.dumps({"format": 1, "n": N}))
    _assert_same(encoding.open_cached(KEY, N), full)


def test_without_a_key_nothing_is_stored(isolated_cache, model, dataset, full):
    result, progress = _run(model, dataset, key=None)
    _assert_same(result.encodings, full)
    assert progress[-1] == Progress(N, N, "encoding") and result.warnings == ()
    assert not (isolated_cache / "encodings").exists() or not any((isolated_cache / "encodings").iterdir())


# -- a cache that cannot be written ---------------------------------------------------------------------
def _can_write_into(folder) -> bool:
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


@pytest.fixture
def unwritable_cache(tmp_path, monkeypatch):
    """A cache folder that refuses writes: read-only (mode 0o500), or, where that stops nothing
    (tests running as root), a path under a regular file, so that no folder can be made there."""
    root = tmp_path / "cache"
    root.mkdir()
    root.chmod(0o500)
    if _can_write_into(root):
        root.chmod(0o700)
        (tmp_path / "a-file").write_text("not a folder")
        root = tmp_path / "a-file" / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(root))
    yield root
    if root.is_dir():
        root.chmod(0o700)  # let pytest remove tmp_path


def test_an_unwritable_cache_still_opens_the_faces_and_encodes_them(unwritable_cache, monkeypatch, fake_vae):
    # the real sizes render 22,000 faces (a minute on two cores): the same path, at 40 and 20
    monkeypatch.setattr(builtin_data, "FACES_SIZES", {"train": 40, "test": 20})
    monkeypatch.setattr(builtin_data, "_CACHE_FROM", 10)
    data = load_dataset("builtin:faces")
    assert len(data) == 40
    assert data.warnings == (
        f"cache folder {unwritable_cache / 'datasets'} is not writable ({_reason(unwritable_cache)}): "
        "faces rendered in memory",
    )
    assert cache.writable_dir("datasets") is None and cache.writing_problem("datasets").startswith("cache folder")

    model = fake_vae(latent_dim=3, image_shape=(3, 64, 64))
    key = encoding.cache_key(model.info.content_hash, data.fingerprint)
    result = run_steps(encoding.encode_dataset_steps(model, data, "cpu", key))
    _assert_same(result.encodings, encoding.encode_all(model, data.images))
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"cache folder {unwritable_cache / 'encodings'} is not writable (")
    assert result.warnings[0].endswith("): encoded in memory, not cached")
    assert encoding.open_cached(key, len(data)) is None
    assert encoding.save_cached(key, result.encodings).startswith(f"cache folder {unwritable_cache / 'encodings'}")


def _reason(root) -> str:
    """What the OS says when a folder cannot be made in the fixture's cache root."""
    return "Not a directory" if root.parent.is_file() else "Permission denied"


def test_a_full_disk_midway_finishes_in_memory_with_a_warning(isolated_cache, model, dataset, full, monkeypatch):
    write = latents.StoreWriter.write
    calls = []

    def fail_on_the_third_chunk(self, start, rows):
        calls.append(start)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(self, start, rows)

    monkeypatch.setattr(latents.StoreWriter, "write", fail_on_the_third_chunk)
    result, progress = _run(model, dataset)
    assert result.warnings == (
        f"cache folder {isolated_cache / 'encodings'} is not writable (No space left on device): "
        "encoded in memory, not cached",
    )
    _assert_same(result.encodings, full)
    assert sum(model.encoded) == N + CHUNK  # the refused chunk is encoded once more, in memory
    assert [p.done for p in progress] == [8, 16, 24, 32, 40, 48, 50]
    assert encoding.open_cached(KEY, N) is None


def test_a_store_that_cannot_be_read_back_is_encoded_again_in_memory(isolated_cache, model, dataset, full, monkeypatch):
    steps = encoding.encode_dataset_steps(model, dataset, "cpu", KEY, **FIXED_CHUNKS)
    next(steps), next(steps)
    steps.close()  # 16 rows stored

    def refuse(*args):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(latents.StoreWriter, "write", refuse)
    monkeypatch.setattr(latents.StoreWriter, "read", refuse)
    model.encoded.clear()
    result, progress = _run(model, dataset)
    assert sum(model.encoded) == N + CHUNK  # one refused chunk, then every row again
    assert result.resumed_from == 0 and len(result.warnings) == 1 and "(Input/output error)" in result.warnings[0]
    assert [p.done for p in progress] == [8, 16, 24, 32, 40, 48, 50]  # the refused chunk reported nothing
    _assert_same(result.encodings, full)


def test_a_store_that_cannot_be_renamed_is_read_where_it_is(isolated_cache, model, dataset, full, monkeypatch):
    rename = os.rename

    def refuse_to_rename_the_store(src, dst):
        if str(src).endswith(".partial"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(src))
        rename(src, dst)  # meta.json's own replace goes through

    monkeypatch.setattr(os, "replace", refuse_to_rename_the_store)
    result, _ = _run(model, dataset)
    assert len(result.warnings) == 1 and "(Permission denied" in result.warnings[0]
    assert sum(model.encoded) == N  # nothing encoded twice: the complete partial store is read where it is
    _assert_same(result.encodings, full)
    assert isinstance(result.encodings.mu, np.memmap)


def test_save_cached_returns_a_warning_instead_of_raising(unwritable_cache, full):
    warning = encoding.save_cached("k", full)
    assert warning.startswith(f"cache folder {unwritable_cache / 'encodings'} is not writable (")
    assert encoding.load_cached("k") is None
    assert cache.cache_dir("encodings") == unwritable_cache / "encodings"  # and never raises
