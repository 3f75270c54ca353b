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
