"""The off-GUI-thread point raster: pixels where the points are, in their colours, later groups on top."""

import numpy as np

from explorer.core.maps.colouring import colour_by
from explorer.core.maps.point_groups import DIMMED, point_groups
from explorer.core.maps.raster import View, disc_offsets, rasterize


def _argb(image, x, y):
    b, g, r, a = image[y, x]
    return int(a), (int(r), int(g), int(b))


def test_points_land_on_their_pixels_in_their_colours_later_groups_on_top():
    view = View(10, 0, 0, -10, 50, 50, 100, 100)  # 10 px per unit, y up, origin in the middle
    groups = [(np.array([[0.0, 0.0], [2.0, 1.0]]), (255, 0, 0)), (np.array([[2.0, 1.0]]), (0, 0, 255))]
    image = rasterize(groups, view, diameter=3)
    assert image.shape == (100, 100, 4)
    assert _argb(image, 50, 50) == (255, (255, 0, 0))
    assert _argb(image, 70, 40) == (255, (0, 0, 255))  # the blue point is drawn over the red one
    assert _argb(image, 51, 50) == (255, (255, 0, 0))  # a disc, not a single pixel
    assert _argb(image, 10, 10)[0] == 0  # transparent where there is no point
    covered = (image[..., 3] > 0).sum()
    assert covered == 2 * len(disc_offsets(3))


def test_points_off_screen_are_culled_not_wrapped():
    view = View(1, 0, 0, 1, 0, 0, 20, 20)
    image = rasterize([(np.array([[-5.0, 3.0], [25.0, 3.0], [3.0, 30.0]]), (9, 9, 9))], view, diameter=2)
    assert (image[..., 3] == 0).all()


def test_point_groups_put_the_searched_out_points_underneath_in_grey():
    coords = np.arange(12, dtype=float).reshape(6, 2)
    colouring = colour_by(np.array([0, 1, 0, 1, 1, 0], float), "label")
    shown = np.array([True, True, False, True, False, True])
    points = point_groups(coords, colouring, shown)
    assert points.groups[0][1] == DIMMED and points.groups[0][0].tolist() == coords[[2, 4]].tolist()
    by_colour = {rgb: pos.tolist() for pos, rgb in points.groups[1:]}
    assert sorted(map(len, by_colour.values())) == [2, 2]
    assert np.array_equal(points.lo, coords.min(0)) and np.array_equal(points.hi, coords.max(0))
