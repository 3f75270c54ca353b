import dataclasses

import numpy as np
import pytest

from explorer.core.data import Dataset
from explorer.core.state.explorer_state import Decoded
from explorer_models.vae import ModelInfo


@pytest.fixture
def _state(make_state):
    return make_state


def test_encodings_give_a_pca_map_coloured_by_the_first_binary_label(_state):
    s = _state()
    assert s.ready and s.projection.name == "PCA" and s.coords.shape == (50, 2)
    assert s.colour_key == "a" and not s.colouring.continuous


def test_cursor_latent_is_the_exact_inverse_and_the_pin_follows_projection_changes(_state):
    s = _state()
    cursor = s.move_cursor(np.array([0.3, -0.2]))
    assert np.allclose(s.projection.transform(cursor.latent), [0.3, -0.2], atol=1e-5)
    s.pin(cursor)
    s.set_raw_dims(2, 0)
    assert np.array_equal(s.pinned.latent, cursor.latent)
    assert np.allclose(s.pinned.map_xy, cursor.latent[[2, 0]])
    assert s.focus == s.cursor.nearest


def test_older_results_never_replace_newer_ones(_state):
    s = _state()
    img = np.zeros((1, 2, 2, 3), np.uint8)
    assert s.set_decoded("cursor", Decoded(5, img, np.zeros((1, 4))))
    assert not s.set_decoded("cursor", Decoded(4, img + 1, np.zeros((1, 4))))
    assert s.decoded["cursor"].request_id == 5
    assert s.set_decoded("nearest", Decoded(1, img, np.zeros((1, 4))))  # slots are independent


def test_a_new_model_or_dataset_drops_decoded_images(_state):
    s = _state()
    s.set_decoded("prior", Decoded(1, np.zeros((1, 2, 2, 3), np.uint8), np.zeros((1, 4))))
    s.set_model(ModelInfo(name="other"), 8, "cpu")  # another latent size: old latents are meaningless
    assert s.decoded == {}
    s.set_decoded("prior", Decoded(2, np.zeros((1, 2, 2, 3), np.uint8), np.zeros((1, 8))))
    s.set_dataset(Dataset("y", np.zeros((3, 2, 2, 3), np.uint8), np.zeros((3, 0), np.float32), (), "fp2"))
    assert s.decoded == {} and not s.ready


def test_focus_changed_only_when_the_nearest_point_changes_and_settling_finds_its_neighbours(_state):
    s = _state()
    told, settled = [], []
    s.focus_changed.connect(told.append)
    s.focus_settled.connect(settled.append)
    a, b = 3, int(np.argmax(((s.coords - s.coords[3]) ** 2).sum(1)))  # two points far apart
    s.move_cursor(s.coords[a])
    s.move_cursor(s.coords[a] + 1e-6)  # the same nearest point
    s.move_cursor(s.coords[b])
    assert told == [a, b] and settled == []  # the neighbours wait for the cursor to rest
    s.settle_focus()
    assert settled == [b] and s.settled_focus == b
    assert np.array_equal(s.latent_neighbours(b), s.latent_index.k_nearest(s.encodings.mu[b], 8, exclude=b))
    s.set_encodings(s.encodings)  # the views clear what they showed: the same focus is told again
    s.move_cursor(s.coords[b])
    assert told == [a, b, b] and s.settled_focus is None


def test_several_vectors_are_added_as_one_change_or_not_at_all(_state):
    from explorer.core.space.vectors import mean_difference

    s = _state()
    mu = np.asarray(s.encodings.mu, np.float64)
    changes = []
    s.vectors_changed.connect(lambda: changes.append(len(s.sliders.vectors)))
    a = mean_difference(mu, (mu[:, 0] > 0).astype(float), "a")
    b = mean_difference(mu, (mu[:, 1] > 0).astype(float), "b")
    s.add_vectors([a, b])
    assert changes == [2] and [v.name for v in s.sliders.vectors] == ["a", "b"]
    wrong = dataclasses.replace(a, name="short", direction=a.direction[:-1])
    with pytest.raises(ValueError, match="short has"):
        s.add_vectors([b, wrong])
    assert len(s.sliders.vectors) == 2 and changes == [2]  # neither was added
