import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.store import encoding
from explorer_models import VAEConfig, build_model
from explorer_models.evaluation import per_image_terms
from explorer_models.vae import images_to_tensor


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(VAEConfig("conv", (3, 32, 32), latent_dim=5, widths=(8, 8, 8))).eval()


def test_chunked_encoding_equals_one_batch(model, tiny_images):
    steps = encoding.encode_steps(model, tiny_images, first_chunk=5, target_seconds=1e-9)
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as done:
            enc = done.value
            break
    assert progress[-1] == encoding.Progress(64, 64) and len(progress) > 3  # small chunks
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    whole = per_image_terms(model, images_to_tensor(tiny_images), sample=False)
    for column in encoding.COLUMNS:
        assert np.allclose(getattr(enc, column), whole[column].numpy(), rtol=1e-5, atol=1e-5), column
    assert enc.latent_dim == 5 and len(enc) == 64


def test_kl_per_dim_sums_to_the_mean_kl(model, tiny_images):
    enc = encoding.encode_all(model, tiny_images)
    assert enc.kl_per_dim().shape == (5,)
    assert enc.kl_per_dim().sum() == pytest.approx(float(enc.kl.mean()), rel=1e-5)


def test_cache_round_trip_and_keys(isolated_cache, model, tiny_images):
    enc = encoding.encode_all(model, tiny_images)
    key = encoding.cache_key("a" * 64, "b" * 64)
    assert encoding.load_cached(key) is None
    assert encoding.save_cached(key, enc) is None  # None: no warning, it was written
    back = encoding.load_cached(key, n=64)
    for column in encoding.COLUMNS:
        assert np.array_equal(getattr(back, column), getattr(enc, column))
    assert isinstance(back.mu, np.memmap)
    assert encoding.load_cached(key, n=65) is None  # another dataset size: not this cache
    assert encoding.load_cached(encoding.cache_key("c" * 64, "b" * 64)) is None  # another model
    assert encoding.cache_key("", "b" * 64) is None  # no identity, no cache


def test_damaged_cache_is_ignored(isolated_cache, model, tiny_images):
    key = encoding.cache_key("a" * 64, "b" * 64)
    encoding.save_cached(key, encoding.encode_all(model, tiny_images))
    (isolated_cache / "encodings" / key / "mu.npy").write_bytes(b"garbage")
    assert encoding.load_cached(key) is None


def test_kl_per_dim_works_on_cached_read_only_columns(isolated_cache, model, tiny_images):
    enc = encoding.encode_all(model, tiny_images)
    key = encoding.cache_key("a" * 64, "b" * 64)
    encoding.save_cached(key, enc)
    cached = encoding.load_cached(key)
    assert not cached.mu.flags.writeable
    assert np.allclose(cached.kl_per_dim(), enc.kl_per_dim())


class Squeezed(torch.nn.Module):
    """A model on a device that holds at most `room` images at a time (or none at all)."""

    def __init__(self, model, room: int, cuda_style: bool = True):
        super().__init__()
        self.model, self.room, self.cuda_style, self.batches = model, room, cuda_style, []
        self.latent_dim, self.image_shape, self.info = model.latent_dim, model.image_shape, model.info

    def encode(self, x):
        self.batches.append(len(x))
        if len(x) > self.room:
            if self.cuda_style:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            raise RuntimeError("MPS backend out of memory (MPS allocated: 9.00 GB)")
        return self.model.encode(x)

    def decode(self, z):
        return self.model.decode(z)


@pytest.mark.parametrize("cuda_style", [True, False])
def test_out_of_device_memory_retries_with_smaller_chunks(model, tiny_images, cuda_style):
    squeezed = Squeezed(model, room=5, cuda_style=cuda_style)
    enc = encoding.encode_all(squeezed, tiny_images, first_chunk=32)
    whole = encoding.encode_all(model, tiny_images)
    np.testing.assert_allclose(enc.mu, whole.mu, rtol=1e-5, atol=1e-6)
    # 32 failed, then 16, then 8, then chunks of 4 to the end: never larger again
    assert squeezed.batches[:4] == [min(32, len(tiny_images)), 16, 8, 4]
    assert max(squeezed.batches[3:]) <= 4


def test_a_device_too_small_for_one_image_is_one_clear_error(model, tiny_images):
    with pytest.raises(encoding.EncodingError, match=r"memory encoding even one image at a time; .*--device cpu"):
        encoding.encode_all(Squeezed(model, room=0), tiny_images, first_chunk=8)


def test_nan_latents_stop_the_encoding_naming_the_data_point(model, tiny_images):
    class NaNOnSeven(Squeezed):
        def encode(self, x):
            mu, logvar = self.model.encode(x)
            start = sum(self.batches)
            self.batches.append(len(x))
            if start <= 7 < start + len(x):
                mu[7 - start, 0] = float("nan")
            return mu, logvar

    with pytest.raises(encoding.EncodingError, match=r"gave NaN or infinite mu for data point 7 \(1 of a batch"):
        encoding.encode_all(NaNOnSeven(model, room=100), tiny_images, first_chunk=4)


def test_a_cancelled_encode_resumes_from_its_store_and_ends_as_an_uninterrupted_one(
    isolated_cache, model, tiny_images, tmp_path, monkeypatch
):
    """The window's path (encode_dataset_steps into the cache, the images memory-mapped): closing
    the generator after three chunks (a cancel) and starting again encodes only the rows not yet
    stored, and ends equal bit for bit to an encode that was never interrupted."""
    from explorer.core.data import ArrayDataset
    from explorer.core.steps import run_steps

    np.save(tmp_path / "blobs.npy", tiny_images)
    images = np.load(tmp_path / "blobs.npy", mmap_mode="r")
    dataset = ArrayDataset("blobs.npy", images, np.zeros((64, 0), np.float32), (), "blobs")
    fixed = dict(first_chunk=8, target_seconds=1e-9)  # chunks of 8 rows, whatever the clock says
    batches = []  # the rows of every forward pass
    real_encode = model.encode
    monkeypatch.setattr(model, "encode", lambda x: batches.append(len(x)) or real_encode(x))

    steps = encoding.encode_dataset_steps(model, dataset, "cpu", "blobs", **fixed)
    assert [next(steps).done for _ in range(3)] == [8, 16, 24]
    steps.close()  # the cancel
    assert batches == [8, 8, 8]  # the chunk read ahead was never encoded
    batches.clear()
    resumed = run_steps(encoding.encode_dataset_steps(model, dataset, "cpu", "blobs", **fixed))
    assert resumed.resumed_from == 24 and batches == [8] * 5  # rows 24 to 63 only
    batches.clear()
    uninterrupted = run_steps(encoding.encode_dataset_steps(model, dataset, "cpu", "whole", **fixed))
    assert uninterrupted.resumed_from == 0 and batches == [8] * 8
    for column in encoding.COLUMNS:
        assert np.array_equal(getattr(resumed.encodings, column), getattr(uninterrupted.encodings, column)), column
    batches.clear()
    again = run_steps(encoding.encode_dataset_steps(model, dataset, "cpu", "blobs", **fixed))
    assert again.resumed_from == 64 and batches == []  # finished: read from the store
    assert np.array_equal(again.encodings.mu, uninterrupted.encodings.mu)


def _rss_file_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("RssFile:")[1].split()[0]) / 1024


@pytest.mark.skipif(sys.platform != "linux", reason="reads this process's resident memory from /proc")
def test_pages_read_through_a_read_only_memory_map_are_let_go(tmp_path):
    """The chunk loop lets go of a chunk's pages once it is on the device, so a streaming encode
    of a memory-mapped file does not keep every page it read resident (a scheduler counting RSS,
    as SLURM does, would see the whole file). Nothing is lost: a page read again comes from the file."""
    from explorer.core.store.mapped_pages import release_pages

    rows = (np.arange(8192) % 251).astype(np.uint8)[:, None, None, None]
    np.save(tmp_path / "images.npy", np.broadcast_to(rows, (8192, 32, 32, 4)))  # 32 MB
    mapped = np.load(tmp_path / "images.npy", mmap_mode="r")
    before = _rss_file_mb()
    chunk = np.asarray(mapped[1000:7000])  # as images_at gives it: a view of the map, 24 MB
    total = int(chunk.sum(dtype=np.int64))  # every page read
    read = _rss_file_mb()
    assert release_pages(chunk)
    released = _rss_file_mb()
    assert read - before >= 16 and released - before <= 4, (before, read, released)
    assert int(chunk.sum(dtype=np.int64)) == total == int((np.arange(1000, 7000) % 251).sum()) * 32 * 32 * 4
    assert not release_pages(np.array(chunk[:10]))  # in memory: nothing to let go
    assert not release_pages(np.load(tmp_path / "images.npy", mmap_mode="c")[:10])  # its changes live in its pages
    assert not release_pages(np.load(tmp_path / "images.npy", mmap_mode="r+")[:10])
