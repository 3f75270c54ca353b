"""The Dataset interface: what any dataset offers, and that the explorer needs nothing more."""

import numpy as np
import pytest

from explorer.core.data import ArrayDataset, Dataset, DatasetLike, IndexedImages, faces, load_dataset
from explorer.core.data.base import LabelsMixin
from explorer.core.steps import run_steps
from explorer.core.store import encoding


@pytest.fixture
def images():
    return np.arange(6 * 2 * 2 * 3, dtype=np.uint8).reshape(6, 2, 2, 3)


@pytest.fixture
def data(images):
    labels = np.array([[1, 0.5], [0, 0.25], [1, 0.0], [0, 1.0], [1, 0.75], [0, 0.5]], np.float32)
    return ArrayDataset("six", images, labels, ("on", "level"), "fp", warnings=("a warning",))


def test_the_array_dataset_meets_the_interface_and_keeps_its_old_name(data, images):
    assert Dataset is ArrayDataset and isinstance(data, DatasetLike)
    old_style = Dataset("y", images, np.zeros((6, 0), np.float32), (), "fp2", None, None, ("skipped x",))
    assert old_style.warnings == () and old_style.problems == ("skipped x",)
    assert len(data) == 6 and data.image_shape == (3, 2, 2)
    assert data.binary_label_names() == ("on",)
    assert np.array_equal(data.label("level"), [0.5, 0.25, 0.0, 1.0, 0.75, 0.5])
    assert data.warnings == ("a warning",)


@pytest.mark.parametrize(
    "indices, rows",
    [
        (range(1, 4), [1, 2, 3]),
        (range(0, 6, 2), [0, 2, 4]),
        (range(5, -1, -2), [5, 3, 1]),
        (range(0), []),
        ([4, 0, 4], [4, 0, 4]),
        (np.array([3, 1]), [3, 1]),
        (slice(2, None), [2, 3, 4, 5]),
        ([-1], [5]),
    ],
)
def test_images_at_reads_the_rows_asked_for_in_that_order(data, images, indices, rows):
    got = data.images_at(indices)
    assert got.dtype == np.uint8 and got.shape == (len(rows), 2, 2, 3)
    assert np.array_equal(got, images[rows])


@pytest.mark.parametrize("indices", [range(4, 7), [6], np.array([0, -7])])
def test_images_at_refuses_rows_that_are_not_there(data, indices):
    with pytest.raises(IndexError):
        data.images_at(indices)


def test_images_at_reads_a_memory_map(tmp_path, images):
    np.save(tmp_path / "x.npy", images)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    data = ArrayDataset("m", mapped, np.zeros((6, 0), np.float32), (), "fp")
    assert np.array_equal(data.images_at(range(2, 5)), images[2:5])
    assert np.array_equal(IndexedImages(data)[4], images[4]) and len(IndexedImages(data)) == 6


def test_loaded_datasets_meet_the_interface(make_pictures):
    folder = load_dataset(make_pictures(3, 16), image_size=16)
    assert isinstance(folder, DatasetLike) and folder.warnings == ()
    assert np.array_equal(folder.images_at([2, 0]), folder.images[[2, 0]])


class FacesOnDemand(LabelsMixin):
    """A dataset that keeps no images: each batch is rendered when asked for, the way a large
    folder will be read from disk. It has no `images` attribute."""

    spec, fingerprint, file_names, heldout_spec, problems, warnings = "faces on demand", "lazy", None, None, (), ()
    label_names = faces.FACTOR_NAMES
    image_shape = (3, faces.IMAGE_SIZE, faces.IMAGE_SIZE)

    def __init__(self, n: int):
        self.labels = faces.sample_factors(n, seed=2)
        self.batches = []

    def __len__(self) -> int:
        return len(self.labels)

    def images_at(self, indices) -> np.ndarray:
        rows = np.asarray(list(indices) if isinstance(indices, range) else indices, dtype=np.intp)
        self.batches.append(len(rows))
        return faces.render(self.labels[rows])


def test_the_explorer_encodes_a_dataset_through_the_interface_alone(isolated_cache, fake_vae):
    lazy = FacesOnDemand(24)
    assert isinstance(lazy, DatasetLike) and not hasattr(lazy, "images")
    model = fake_vae(latent_dim=3, image_shape=lazy.image_shape)
    result = run_steps(
        encoding.encode_dataset_steps(model, lazy, "cpu", "lazy-key", first_chunk=8, target_seconds=1e-9)
    )
    assert lazy.batches == [8, 8, 8]  # read a chunk at a time, never all at once
    whole = encoding.encode_all(model, faces.render(lazy.labels))
    for column in encoding.COLUMNS:
        assert np.allclose(getattr(result.encodings, column), getattr(whole, column), rtol=1e-6, atol=1e-6)
    assert lazy.binary_label_names() == faces.BINARY_FACTORS
    assert np.array_equal(IndexedImages(lazy)[5], faces.render(lazy.labels[5:6])[0])


def test_a_pixel_judge_trains_through_the_interface_alone():
    from explorer.core.space.judges import PixelJudge

    lazy = FacesOnDemand(24)
    judge = PixelJudge.fit(lazy, "smiling", n=16)
    assert lazy.batches == [16, 8]  # the first 16 to train, the other 8 to check
    assert 0.0 <= judge.accuracy <= 1.0


def test_binary_labels_are_found_block_by_block(images, monkeypatch):
    from explorer.core.data import base

    monkeypatch.setattr(base, "LABEL_BLOCK", 2)  # three blocks of two rows
    nan = np.nan
    labels = np.array(
        [[1, 1, 0, nan], [0, 0, 0, nan], [1, 1, 1, nan], [0, 0, 1, nan], [1, 0.5, 0, nan], [0, 1, nan, nan]], np.float32
    )
    data = ArrayDataset("blocks", images, labels, ("yes", "late", "unknown", "none"), "fp")
    # a 0.5 in the last block rules a label out; a NaN is a point whose label is unknown, but a
    # label known for no point is none
    assert data.binary_label_names() == ("yes", "unknown")
