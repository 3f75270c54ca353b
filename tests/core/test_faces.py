import hashlib

import numpy as np
import pytest

from explorer.core.data import faces, load_faces

N_CHECK = 300


@pytest.fixture(scope="module")
def sample():
    f = faces.sample_factors(N_CHECK, seed=5)
    return f, faces.render(f)


def _col(f, name):
    return f[:, faces.FACTOR_NAMES.index(name)]


def test_same_seed_same_pixels_other_seed_other_pixels():
    a = faces.render(faces.sample_factors(40, seed=3))
    b = faces.render(faces.sample_factors(40, seed=3))
    c = faces.render(faces.sample_factors(40, seed=4))
    assert a.dtype == np.uint8 and a.shape == (40, 64, 64, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pixels_match_the_recorded_checksum():
    """Changing the drawing must bump GENERATOR_VERSION (it keys the on-disk cache)."""
    images = faces.render(faces.sample_factors(16, seed=0))
    assert faces.GENERATOR_VERSION == 4, "update the checksum below along with the version"
    assert hashlib.sha256(images.tobytes()).hexdigest() == GOLDEN_SHA256


GOLDEN_SHA256 = "2e878d2cd6cd3b4a849e2ff031dc4eb5f1900b33f481751240ff13377a954b2d"


def test_a_prefix_of_a_split_does_not_depend_on_its_size():
    assert np.array_equal(faces.sample_factors(10, seed=2), faces.sample_factors(500, seed=2)[:10])
    assert not np.array_equal(faces.sample_factors(10, split="train"), faces.sample_factors(10, split="test"))


def test_chunking_does_not_change_pixels():
    f = faces.sample_factors(21, seed=1)
    assert np.array_equal(faces.render(f, chunk=4), faces.render(f, chunk=256))


def test_mouth_curves_up_exactly_when_smiling(sample):
    f, images = sample
    g = faces.face_geometry(f)
    rows, cols = np.mgrid[0:64, 0:64]
    for i in range(N_CHECK):
        r, gr, b = np.moveaxis(images[i].astype(int), -1, 0)
        dx = np.abs(cols + 0.5 - g["mouth_x"][i])
        mouth = (r > 110) & (r > 2.2 * gr) & (r > 1.8 * b)  # the dark red of lips, not the hat band
        mouth &= (np.abs(rows + 0.5 - g["mouth_y"][i]) < 8) & (dx < g["mouth_half_width"][i] + 2)
        centre, corners = mouth & (dx < 1.5), mouth & (dx > g["mouth_half_width"][i] - 2.5)
        assert centre.any() and corners.any(), f"image {i}: no mouth found"
        centre_row, corner_row = rows[centre].mean(), rows[corners].mean()
        curves_up = centre_row > corner_row + 1  # image rows grow downwards
        assert curves_up == bool(_col(f, "smiling")[i]), f"image {i}: centre {centre_row:.1f}, corners {corner_row:.1f}"


def _pixel(images, i, x, y):
    return images[i, int(y), int(x)].astype(int)


def test_glasses_bridge_drawn_exactly_when_glasses(sample):
    f, images = sample
    g = faces.face_geometry(f)
    for i in range(N_CHECK):
        pixel = _pixel(images, i, g["cx"][i], g["eye_y"][i] - 0.5)  # the bridge between the lenses
        assert (pixel.max() < 90) == bool(_col(f, "glasses")[i]), f"image {i}: {pixel}"


def test_eye_whites_visible_exactly_when_eyes_open(sample):
    f, images = sample
    g = faces.face_geometry(f)
    for i in range(N_CHECK):
        x, y = int(g["eye_left"][i]), int(g["eye_y"][i])
        box = images[i, y - 3 : y + 4, x - 4 : x + 5].astype(int)
        # white has R close to B; skin keeps R - B >= 19 even under a tinted lens
        white = (box.min(-1) > 150) & (box[..., 0] - box[..., 2] < 5)
        assert (white.sum() >= 10) == bool(_col(f, "eyes_open")[i]), f"image {i}: {white.sum()} white pixels"


def test_hat_drawn_exactly_when_hat(sample):
    f, images = sample
    g = faces.face_geometry(f)
    for i in range(N_CHECK):
        r, gr, b = _pixel(images, i, g["cx"][i], g["top"][i] - faces.HAT_CROWN_HALF_HEIGHT)  # the crown
        assert (r < 90 and gr < 90 and b > 110) == bool(_col(f, "hat")[i]), f"image {i}: {(r, gr, b)}"


def test_head_x_shifts_the_whole_face():
    f = faces.sample_factors(3, seed=9)
    left, right = f.copy(), f.copy()
    left[:, faces.FACTOR_NAMES.index("head_x")] = 0.0
    right[:, faces.FACTOR_NAMES.index("head_x")] = 1.0  # cx moves by 10 px
    a, b = faces.render(left), faces.render(right)
    assert np.array_equal(a[:, :, 0:50], b[:, :, 10:60])
    assert not np.array_equal(a, b)


def test_documented_label_statistics():
    f = faces.sample_factors(20_000, split="train")
    smiling, glasses = _col(f, "smiling") == 1, _col(f, "glasses") == 1
    assert set(np.unique(f[:, :4])) == {0.0, 1.0}
    assert smiling.mean() == pytest.approx(0.5, abs=0.015)
    assert glasses[smiling].mean() == pytest.approx(0.7, abs=0.015)
    assert glasses[~smiling].mean() == pytest.approx(0.3, abs=0.015)
    assert (_col(f, "eyes_open") == 1).mean() == pytest.approx(0.6, abs=0.015)
    assert (_col(f, "hat") == 1).mean() == pytest.approx(0.35, abs=0.015)
    continuous = f[:, 4:]
    assert continuous.min() >= 0 and continuous.max() <= 1
    assert np.allclose(continuous.mean(0), 0.5, atol=0.02)
    # the continuous factors are independent of each other and of the binary ones
    assert np.abs(np.corrcoef(f[:, 2:].T) - np.eye(8)).max() < 0.03


def test_dataset_object_and_disk_cache(isolated_cache):
    data = load_faces("test", n=1200)
    assert len(data) == 1200 and data.image_shape == (3, 64, 64)
    assert data.label_names == faces.FACTOR_NAMES and data.labels.shape == (1200, 10)
    assert data.spec == "builtin:faces:test?n=1200&seed=0"
    cached = list((isolated_cache / "datasets").glob("*.npy"))
    assert len(cached) == 1
    again = load_faces("test", n=1200)
    assert isinstance(again.images, np.memmap) and np.array_equal(again.images, data.images)
    assert again.fingerprint == data.fingerprint != load_faces("test", n=1201).fingerprint

    cached[0].write_bytes(cached[0].read_bytes()[:5000])  # a damaged cache is rebuilt, not trusted
    rebuilt = load_faces("test", n=1200)
    assert np.array_equal(rebuilt.images, data.images)
    assert np.array_equal(data.images[:50], faces.render(faces.sample_factors(50, split="test")))


def test_faces_that_cannot_be_cached_open_with_a_warning(isolated_cache, monkeypatch):
    import errno
    import os

    from explorer.core.data import builtin
    from explorer.core.store import cache

    def disk_full(path, arr):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(builtin, "_CACHE_FROM", 10)  # the caching path, without rendering a thousand faces
    monkeypatch.setattr(cache, "save_array", disk_full)
    data = load_faces("test", n=20)
    folder = isolated_cache / "datasets"
    assert data.warnings == (
        f"cache folder {folder} is not writable (No space left on device): faces rendered in memory",
    )
    assert np.array_equal(data.images, faces.render(faces.sample_factors(20, split="test")))
    assert not list(folder.glob("*.npy"))
