"""Precomputed latents as a data SPEC (issue 12): an .npz of mu (and logvar, labels), no images."""

import hashlib

import numpy as np
import pytest

from explorer.core.data import (
    NO_IMAGE,
    DatasetError,
    DatasetLike,
    LatentsDataset,
    has_images,
    is_latents_file,
    load_dataset,
    load_for_model,
)
from explorer.core.data.latents_file import placeholder_image
from explorer.core.steps import run_steps
from explorer.core.store import encoding
from explorer.worker import dataset_jobs

N, D = 40, 4
SHAPE = (3, 8, 8)


@pytest.fixture
def model(fake_vae):
    """A fake model of latent size D that must never be asked to encode."""

    class NoEncoding(fake_vae):
        def encode(self, x):
            raise AssertionError("a latents file is never encoded")

    return NoEncoding(latent_dim=D, image_shape=SHAPE)


def _latents(seed=0, n=N, d=D):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), (rng.standard_normal((n, d)) - 2).astype(np.float32)


def _open(path, model):
    """dataset_jobs.open_dataset run to the end on the model thread's behalf."""
    return run_steps(dataset_jobs.open_dataset(str(path))(model, "cpu"))


def test_a_latents_file_opens_with_its_labels_and_its_own_encodings(tmp_path, model, isolated_cache):
    mu, logvar = _latents()
    smiling, age = np.arange(N) % 2, np.linspace(20, 70, N)
    path = tmp_path / "latents.npz"
    np.savez(path, mu=mu, logvar=logvar, smiling=smiling, age=age, note=np.array(["a"] * N), z=np.zeros((N, 2)))
    opened = _open(path, model)
    ds, enc = opened.dataset, opened.cached
    assert isinstance(ds, DatasetLike) and isinstance(ds, LatentsDataset) and not has_images(ds)
    assert len(ds) == N and ds.spec == str(path) and ds.image_shape == SHAPE
    assert ds.label_names == ("smiling", "age") and ds.binary_label_names() == ("smiling",)
    assert np.array_equal(ds.label("smiling"), smiling) and np.allclose(ds.label("age"), age)
    assert ds.warnings == (
        f"arrays that are not labels of the {N} points were left out: note (40,) <U1, z (40, 2) float64",
    )
    assert ds.fingerprint == hashlib.sha256(b"latents|" + path.read_bytes()).hexdigest()
    # the encodings are the file's, exactly; kl is per_image_terms' formula; no image, no recon terms
    assert np.array_equal(enc.mu, mu) and np.array_equal(enc.logvar, logvar)
    expected_kl = 0.5 * (mu.astype(np.float64) ** 2 + np.exp(logvar) - 1 - logvar).sum(1)
    assert np.allclose(enc.kl, expected_kl, rtol=1e-6)
    assert np.isnan(enc.recon).all() and np.isnan(enc.mse).all()
    assert opened.cache_key == encoding.model_cache_key(model, ds.fingerprint)
    # the encode job gives the same, and neither job writes anything to the cache (the file is its own store)
    again = run_steps(dataset_jobs.encode(ds, opened.cache_key)(model, "cpu")).encodings
    assert np.array_equal(again.mu, mu) and np.array_equal(again.kl, enc.kl)
    assert not (isolated_cache / "encodings").exists()


def test_a_point_s_image_is_a_neutral_placeholder_of_the_models_shape(tmp_path):
    mu, _ = _latents()
    np.savez(tmp_path / "l.npz", mu=mu)
    ds = load_for_model(tmp_path / "l.npz", SHAPE, D)
    images = ds.images_at([0, 5, 39])
    assert images.shape == (3, 8, 8, 3) and images.dtype == np.uint8
    assert all(np.array_equal(im, placeholder_image(SHAPE)) for im in images)
    assert ds.images_at(range(2, 9)).shape[0] == 7 and ds.images_at(slice(None)).shape[0] == N
    with pytest.raises(IndexError):
        ds.images_at([N])
    assert NO_IMAGE == "no image (precomputed latents)"
    # the placeholder is grey with a darker cross: no data point's image, and plainly so
    ph = placeholder_image((1, 8, 8))
    assert ph[0, 0, 0] == ph[7, 7, 0] == ph[0, 7, 0] == 110 and ph[0, 3, 0] == 160


def test_without_logvar_the_posterior_width_is_unknown_never_guessed(tmp_path, model):
    mu, _ = _latents()
    np.savez_compressed(tmp_path / "means.npz", mu=mu.astype(np.float64), label=np.ones(N))
    opened = _open(tmp_path / "means.npz", model)
    ds, enc = opened.dataset, opened.cached
    assert not ds.posterior_known and ds.logvar is None
    assert "means.npz has no logvar: the posterior width of its points is unknown" in ds.warnings
    assert enc.mu.dtype == np.float32 and np.array_equal(enc.mu, mu)  # float64 in the file, float32 as encodings
    assert np.isnan(enc.logvar).all() and enc.logvar.shape == (N, D) and np.isnan(enc.kl).all()
    assert np.isnan(enc.kl_per_dim()).all()


def test_the_model_must_have_the_latents_size(tmp_path, model, fake_vae):
    mu, _ = _latents(d=8)
    path = tmp_path / "eight.npz"
    np.savez(path, mu=mu)
    message = r"eight\.npz: latents of size 8 but the model's latent size is 4"
    with pytest.raises(DatasetError, match=message):
        _open(path, model)
    with pytest.raises(DatasetError, match=message):
        load_for_model(path, SHAPE, 4)
    with pytest.raises(DatasetError, match=message):
        encoding.file_encodings(load_dataset(path), 4)
    assert _open(path, fake_vae(latent_dim=8, image_shape=SHAPE)).cached.latent_dim == 8


@pytest.mark.parametrize(
    "arrays, latents",
    [
        ({"mu": np.zeros((3, 2))}, True),
        ({"mu": np.zeros((3, 2)), "logvar": np.zeros((3, 2)), "y": np.zeros(3)}, True),
        ({"mu": np.zeros((3, 2, 2))}, True),  # mu is the latents, and refused for its shape
        ({"mu": np.zeros((3, 2)), "images": np.zeros((3, 8, 8))}, False),
        ({"mu": np.zeros((3, 2)), "x": np.zeros((3, 4))}, False),
        ({"mu": np.zeros((3, 2)), "pictures": np.zeros((3, 8, 8, 3))}, False),
        ({"z": np.zeros((3, 2))}, False),
        ({"images": np.zeros((3, 8, 8)), "mu": np.zeros(3)}, False),  # an images file with a label named mu
    ],
)
def test_a_latents_file_is_an_npz_with_mu_and_no_image_array(tmp_path, arrays, latents):
    np.savez(tmp_path / "f.npz", **arrays)
    assert is_latents_file(tmp_path / "f.npz") is latents
    np.save(tmp_path / "mu.npy", np.zeros((3, 2)))
    assert not is_latents_file(tmp_path / "mu.npy") and not is_latents_file(tmp_path)


def _mu(n=5, d=4):
    return np.zeros((n, d), np.float32)


def _with(row, value, a=None):
    a = _mu() if a is None else a
    a[row] = value
    return a


@pytest.mark.parametrize(
    "arrays, message",
    [
        (lambda: {"mu": np.zeros(5)}, r"mu has shape \(5,\); it must be 2-D, \(points N, latent size D\)"),
        (lambda: {"mu": np.zeros((5, 4), np.int64)}, "mu holds int64; it must hold floats"),
        (lambda: {"mu": np.zeros((5, 4), bool)}, "mu holds bool; it must hold floats"),
        (lambda: {"mu": _with(3, np.nan)}, r"mu holds NaN or infinite values \(first in row 3\)"),
        (lambda: {"mu": _with(1, -np.inf)}, r"mu holds NaN or infinite values \(first in row 1\)"),
        (
            lambda: {"mu": _with(2, 1e300, np.zeros((5, 4)))},
            r"mu holds NaN or infinite values \(first in row 2\) \(beyond the float32 range\)",
        ),
        (lambda: {"mu": _mu(0, 4)}, r"mu has no rows \(N = 0\): no data points"),
        (lambda: {"mu": _mu(5, 0)}, "mu has 0 columns; the latent size must be 1 to 4,096"),
        (lambda: {"mu": _mu(1, 4097)}, "mu has 4,097 columns; the latent size must be 1 to 4,096"),
        (lambda: {"mu": _mu(), "logvar": _mu(5, 3)}, r"logvar has shape \(5, 3\), but mu has \(5, 4\)"),
        (lambda: {"mu": _mu(), "logvar": _mu().astype(int)}, "logvar holds int64; it must hold floats"),
        (lambda: {"mu": _mu(), "logvar": _with(4, np.nan)}, r"logvar holds NaN or infinite values \(first in row 4\)"),
        (
            lambda: {"mu": _mu(), "logvar": _with(0, 100.0)},
            "logvar holds values up to 100, where exp",
        ),
        (lambda: {"mu": _mu(), "smiling": np.zeros(3)}, "the label smiling has 3 values, but mu has 5 rows"),
        (lambda: {"mu": _mu(), "names": np.array([{"a": 1}], dtype=object)}, "names holds Python objects, .*refused"),
        (lambda: {"mu": np.zeros((5, 4), dtype=object)}, "mu holds Python objects, .*refused"),
        (lambda: {"logvar": _mu(), "y": np.zeros(5)}, "cannot tell which array holds the images .*or mu for"),
    ],
)
def test_a_bad_latents_file_is_refused_naming_it_and_the_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays())
    with pytest.raises(DatasetError, match=r"bad\.npz: " + message):
        load_for_model(path, SHAPE, 4)


def test_a_damaged_latents_file_is_refused_naming_it(tmp_path):
    mu, logvar = _latents(n=2000)
    np.savez(tmp_path / "whole.npz", mu=mu, logvar=logvar)
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    broken = bytearray(data)  # a member damaged inside an intact zip: its checksum tells
    start = data.index(b"\x93NUMPY") + 200  # inside mu.npy's rows
    broken[start : start + 100] = b"\xff" * 100
    (tmp_path / "inside.npz").write_bytes(bytes(broken))
    for name in ("cut.npz", "inside.npz"):
        with pytest.raises(DatasetError, match=rf"{name.replace('.', '[.]')}: not a readable NumPy file"):
            load_for_model(tmp_path / name, SHAPE, D)
    (tmp_path / "noise.npz").write_bytes(b"not a zip at all" * 10)
    with pytest.raises(DatasetError, match=r"noise\.npz: "):
        load_for_model(tmp_path / "noise.npz", SHAPE, D)
