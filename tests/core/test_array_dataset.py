"""NumPy files of images as datasets (issue 12): layouts, value ranges, labels, refusals."""

import numpy as np
import pytest

from explorer.core.data import DatasetError, load_dataset, load_for_model


def _ramp(n=6, h=8, w=8):
    """n images whose every pixel is the image's index * 40 (so each image is told apart)."""
    return (np.arange(n, dtype=np.uint8)[:, None, None] * 40 * np.ones((n, h, w), np.uint8)).astype(np.uint8)


@pytest.mark.parametrize(
    "layout",
    ["N,H,W uint8", "N,H,W,3 uint8", "N,3,H,W uint8", "N,H,W float [0,1]", "N,H,W float [-1,1]", "N,H,W,1 uint16"],
)
def test_images_in_every_layout_and_range_read_as_the_same_pixels(tmp_path, layout):
    grey = _ramp()
    arrays = {
        "N,H,W uint8": grey,
        "N,H,W,3 uint8": np.repeat(grey[..., None], 3, -1),
        "N,3,H,W uint8": np.repeat(grey[:, None], 3, 1),
        "N,H,W float [0,1]": grey / 255.0,
        "N,H,W float [-1,1]": grey / 127.5 - 1.0,
        "N,H,W,1 uint16": grey[..., None].astype(np.uint16) * 257,
    }
    np.save(tmp_path / "images.npy", arrays[layout])
    ds = load_dataset(tmp_path / "images.npy", image_size=8, channels=1)
    assert ds.images.shape == (6, 8, 8, 1) and ds.images.dtype == np.uint8
    assert np.array_equal(ds.images[..., 0], grey)
    assert ds.label_names == () and ds.spec == str(tmp_path / "images.npy")


def test_an_npz_gives_its_other_arrays_as_labels_and_the_model_size(tmp_path):
    images = np.repeat(_ramp(h=16, w=16)[..., None], 3, -1)
    smiling, age, note = np.array([0, 1, 0, 1, 1, 0]), np.linspace(20, 70, 6), np.array(["a"] * 6)
    np.savez(tmp_path / "faces.npz", x=images, smiling=smiling, age=age, note=note, extra=np.zeros(3))
    ds = load_for_model(tmp_path / "faces.npz", (3, 8, 8))
    assert ds.image_shape == (3, 8, 8) and len(ds) == 6
    assert ds.label_names == ("smiling", "age") and np.array_equal(ds.label("smiling"), smiling)
    assert ds.binary_label_names() == ("smiling",)
    assert "note (6,) <U1" in ds.warnings[0] and "extra (3,)" in ds.warnings[0]
    again = load_for_model(tmp_path / "faces.npz", (3, 8, 8))
    assert again.fingerprint == ds.fingerprint != load_for_model(tmp_path / "faces.npz", (1, 8, 8)).fingerprint


@pytest.mark.parametrize(
    "content, message",
    [
        (lambda: np.array([{"a": 1}], dtype=object), "holds Python objects, which would have to be unpickled; refused"),
        (lambda: np.full((2, 8, 8), np.nan), "the images hold NaN or infinite values"),
        (lambda: np.full((2, 8, 8), 3.0), r"float images must lie in \[0, 1\] or \[-1, 1\], found 3..3"),
        (lambda: np.full((2, 8, 8), 300, np.int32), "integer images must lie in 0..255, found 300..300"),
        (lambda: np.zeros((2, 8, 8, 7), np.uint8), r"images of shape \(2, 8, 8, 7\) are not"),
        (lambda: np.zeros((0, 8, 8), np.uint8), "the images array 'images' is empty"),
    ],
)
def test_a_numpy_file_that_cannot_be_images_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "bad.npy"
    np.save(path, content(), allow_pickle=True)
    before = path.read_bytes()
    with pytest.raises(DatasetError, match=r"bad\.npy: " + message):
        load_dataset(path, image_size=8, channels=1)
    assert path.read_bytes() == before


def test_an_npz_without_a_clear_images_array_says_what_it_found(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 8, 8)), b=np.zeros((2, 8, 8)))
    with pytest.raises(DatasetError, match=r"two\.npz: cannot tell which array holds the images .*a \(2, 8, 8\)"):
        load_dataset(tmp_path / "two.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "two.npz").read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"cut\.npz: not a readable NumPy file"):
        load_dataset(tmp_path / "cut.npz")


def test_a_npy_already_at_the_models_input_is_read_from_the_file_not_copied(tmp_path):
    """Bounded memory for large files: uint8 images of the model's size stay memory-mapped."""
    images = np.random.default_rng(0).integers(0, 256, (50, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "big.npy", images)
    ds = load_dataset(tmp_path / "big.npy", image_size=16, channels=3)
    base = ds.images
    while not isinstance(base, np.memmap) and getattr(base, "base", None) is not None:
        base = base.base
    assert isinstance(base, np.memmap) and not ds.images.flags.writeable
    assert np.array_equal(ds.images_at(range(10, 20)), images[10:20])
    grey = images[..., 0]
    np.save(tmp_path / "grey.npy", grey)
    ds = load_dataset(tmp_path / "grey.npy", image_size=16, channels=1)  # (N, H, W): a view with one channel
    assert ds.image_shape == (1, 16, 16) and np.array_equal(ds.images_at([3])[0, ..., 0], grey[3])
    converted = load_dataset(tmp_path / "big.npy", image_size=8, channels=3)  # another size: converted
    assert converted.images.shape == (50, 8, 8, 3) and converted.images.flags.writeable


def test_an_npz_member_too_large_to_unpack_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from explorer.core.data import arrays

    np.savez_compressed(tmp_path / "zeros.npz", images=np.zeros((64, 32, 32), np.uint8))  # compresses 100x
    monkeypatch.setattr(arrays, "MAX_NPZ_MEMBER", 10_000)
    with pytest.raises(DatasetError, match=r"zeros\.npz: images holds 65,664 bytes, more than the 10,000 .*save the"):
        load_dataset(tmp_path / "zeros.npz", image_size=32, channels=1)
