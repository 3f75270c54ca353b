"""The atlas's core: the points in a view, and thumbnails made only for those not made before."""

import numpy as np

from explorer.core.data import Dataset
from explorer.core.maps.atlas import THUMBNAIL, atlas_view, points_in, thumbnail


def _dataset(n):
    images = np.zeros((n, 8, 8, 3), np.uint8)
    images[:, :, :, 0] = np.arange(n)[:, None, None] % 256  # each image's red is its index
    return Dataset("t", images, np.zeros((n, 0), np.float32), (), fingerprint="t")


def test_the_points_in_a_view_get_thumbnails_of_their_own_images():
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [5.0, 5.0]])
    view = atlas_view(coords, _dataset(4), (0.5, 2.5, 0.5, 2.5))
    assert view.indices.tolist() == [1, 2] and not view.crowded
    assert sorted(view.thumbnails) == [1, 2]
    for i, rgba in view.thumbnails.items():
        assert rgba.shape == (THUMBNAIL, THUMBNAIL, 4)
        assert (rgba[..., 0] == i).all() and (rgba[..., 3] == 255).all()  # the whole image, scaled up


def test_thumbnails_made_before_are_not_made_again_and_a_crowded_view_gets_none():
    coords = np.random.default_rng(0).random((1000, 2))
    view = atlas_view(
        coords, _dataset(1000), (0, 0.2, 0, 0.2), made={int(i) for i in points_in(coords, (0, 0.1, 0, 0.1))}
    )
    inside = points_in(coords, (0, 0.2, 0, 0.2))
    assert view.indices.tolist() == inside.tolist()
    assert set(view.thumbnails) == set(inside.tolist()) - set(points_in(coords, (0, 0.1, 0, 0.1)).tolist())
    crowded = atlas_view(coords, _dataset(1000), (0, 1, 0, 1), most=300)
    assert crowded.crowded and len(crowded.indices) == 0 and crowded.thumbnails == {}


def test_a_thumbnail_keeps_its_image_proportions_centred_and_clear_around():
    wide = np.full((10, 40, 1), 200, np.uint8)  # grey, four times as wide as tall
    rgba = thumbnail(wide, 48)
    assert rgba.shape == (48, 48, 4)
    rows = np.flatnonzero(rgba[:, 24, 3])
    assert len(rows) == 12 and rows[0] == 18  # 48 x 12, centred
    assert (rgba[rows, :, :3] == 200).all() and (rgba[0, :, 3] == 0).all()
