"""The off-GUI-thread map image: a density image while many points are in view, the points
themselves (discs in their colours, later groups on top) once few are, and the same points in
both."""

import numpy as np
import pytest

from explorer.core.maps.colouring import colour_by
from explorer.core.maps.point_groups import DIMMED, flat_points, point_groups
from explorer.core.maps.raster import FAINTEST, View, disc_offsets, pixels_of, render

EVERY = 10**9  # points_below: always drawn as points
NEVER = -1  # always as a density image


def _argb(image, x, y):
    b, g, r, a = image[y, x]
    return int(a), (int(r), int(g), int(b))


def _flat(coords, values, shown=None):
    return flat_points(np.asarray(coords, float), colour_by(np.asarray(values, float), "label"), shown)


def test_points_land_on_their_pixels_in_their_colours_later_groups_on_top():
    view = View(10, 0, 0, -10, 50, 50, 100, 100)  # 10 px per unit, y up, origin in the middle
    points = _flat([[0.0, 0.0], [2.0, 1.0], [2.0, 1.0]], [1, 1, 0])  # groups: 0 -> blue-ish, 1 -> orange
    made = render(points, view, diameter=3, points_below=EVERY)
    colours = points.colours
    assert not made.density and made.in_view == 3 and made.pixels.shape == (100, 100, 4)
    assert _argb(made.pixels, 50, 50) == (255, tuple(int(c) for c in colours[2]))
    assert _argb(made.pixels, 70, 40) == (255, tuple(int(c) for c in colours[2]))  # group 1 drawn over group 0
    assert _argb(made.pixels, 51, 50) == (255, tuple(int(c) for c in colours[2]))  # a disc, not a single pixel
    assert _argb(made.pixels, 10, 10)[0] == 0  # transparent where there is no point
    assert (made.pixels[..., 3] > 0).sum() == 2 * len(disc_offsets(3))


def test_points_off_screen_are_culled_not_wrapped_and_not_counted():
    view = View(1, 0, 0, 1, 0, 0, 20, 20)
    points = _flat([[-5.0, 3.0], [25.0, 3.0], [3.0, 30.0], [3.0, 3.0]], [0, 0, 0, 0])
    for below in (EVERY, NEVER):
        made = render(points, view, diameter=2, points_below=below)
        assert made.in_view == 1
        assert (made.pixels[..., 3] > 0).sum() == (len(disc_offsets(2)) if below == EVERY else 1)


def test_a_search_draws_the_points_it_leaves_out_underneath_in_grey():
    view = View(1, 0, 0, 1, 0, 0, 10, 10)
    points = _flat([[2.0, 2.0], [2.0, 2.0], [7.0, 7.0]], [0, 0, 0], shown=np.array([True, False, False]))
    assert points.counts == (2, 1)
    for below in (EVERY, NEVER):
        made = render(points, view, diameter=1, points_below=below)
        assert _argb(made.pixels, 2, 2)[1] != DIMMED  # a shown point wins its pixel
        a, rgb = _argb(made.pixels, 7, 7)
        assert np.allclose(np.array(rgb) / (a / 255), DIMMED, atol=2)  # only left-out points: grey


def test_density_brightness_grows_with_the_count_and_colour_is_the_majority():
    view = View(1, 0, 0, 1, 0, 0, 10, 10)
    # pixel (1, 1): 9 points, 6 of group 1; pixel (5, 5): 1 point of group 0; pixel (8, 2): 3 of group 0
    coords = [[1, 1]] * 9 + [[5, 5]] + [[8, 2]] * 3
    values = [1] * 6 + [0] * 3 + [0] + [0] * 3
    points = _flat(coords, values)
    made = render(points, view, diameter=4, points_below=NEVER)
    assert made.density and made.in_view == 13
    busy, single, mid = (_argb(made.pixels, *xy) for xy in ((1, 1), (5, 5), (8, 2)))
    assert busy[0] == 255 and single[0] == round(255 * (FAINTEST + (1 - FAINTEST) * np.log(2) / np.log(10)))
    assert single[0] < mid[0] < busy[0]
    assert np.allclose(np.array(busy[1]) * 255 / busy[0], points.colours[2], atol=1)  # the majority, group 1
    assert np.allclose(np.array(single[1]) * 255 / single[0], points.colours[1], atol=2)
    assert (made.pixels[..., 3] > 0).sum() == 3  # one pixel a place: counts, not discs


def test_continuous_density_takes_the_colour_of_the_mean_value():
    view = View(1, 0, 0, 1, 0, 0, 4, 4)
    values = np.linspace(0, 1, 100)  # many values: a continuous colouring of 32 levels
    coords = np.zeros((100, 2))
    coords[:50] = (1, 1)  # the lower half's mean level
    coords[50:] = (3, 3)
    points = _flat(coords, values)
    assert points.continuous
    made = render(points, view, diameter=1, points_below=NEVER)
    for xy, half in (((1, 1), slice(0, 50)), ((3, 3), slice(50, 100))):
        a, rgb = _argb(made.pixels, *xy)
        level = points.key[half].mean() - 1
        want = [np.interp(level, np.arange(len(points.colours) - 1), points.colours[1:, c]) for c in range(3)]
        assert a == 255 and np.allclose(rgb, want, atol=1)


@pytest.mark.parametrize("diameter", [1, 4])
def test_zoomed_in_the_density_view_and_the_points_view_show_the_same_points(diameter):
    rng = np.random.default_rng(3)
    coords = rng.normal(size=(200_000, 2))
    points = _flat(coords, rng.integers(0, 3, len(coords)))
    view = View(2000, 0, 0, -2000, 400 - 2000 * 0.3, 300 + 2000 * 0.1, 800, 600)  # a 0.4 x 0.3 window at (0.3, 0.1)
    density = render(points, view, diameter, points_below=NEVER)
    as_points = render(points, view, diameter, points_below=EVERY)
    assert density.density and not as_points.density
    assert 1000 < density.in_view == as_points.in_view < 10_000
    ix, iy = pixels_of(points, view)
    inside = (ix >= 0) & (iy >= 0) & (ix < 800) & (iy < 600)
    centres = np.zeros((600, 800), bool)
    centres[iy[inside], ix[inside]] = True
    assert np.array_equal(density.pixels[..., 3] > 0, centres)  # a density pixel exactly where a point is
    assert (as_points.pixels[..., 3] > 0)[centres].all()  # and the points view draws each of them
    # where a pixel holds one point, both show its colour (the density image dimmer: premultiplied)
    if diameter == 1:
        lone = np.bincount(iy[inside] * 800 + ix[inside], minlength=800 * 600).reshape(600, 800) == 1
        assert lone.sum() > 1000
        faint = density.pixels[lone].astype(float)
        unpremultiplied = faint[:, :3] * 255 / faint[:, 3:]
        assert np.allclose(unpremultiplied, as_points.pixels[lone][:, :3], atol=3)


@pytest.mark.parametrize("values", [np.full(6, np.nan), np.r_[np.linspace(0, 1, 40), [np.nan] * 4]])
def test_points_without_a_value_are_drawn_grey_in_both_views(values):
    """An empty label column (all NaN), or a continuous one with gaps: no error, and the
    valueless points grey."""
    n = len(values)
    coords = np.stack([np.arange(n) % 10, np.arange(n) // 10], 1).astype(float)
    points = _flat(coords, values)
    view = View(1, 0, 0, 1, 0, 0, 12, 12)
    for below in (EVERY, NEVER):
        made = render(points, view, diameter=1, points_below=below)
        assert made.in_view == n and (made.pixels[..., 3] > 0).sum() == n
        for i in np.flatnonzero(np.isnan(values)):
            a, rgb = _argb(made.pixels, *coords[i].astype(int))
            assert np.allclose(np.array(rgb) * 255 / a, points.colours[0 if points.continuous else -1], atol=2)


def test_flat_points_hold_the_same_points_and_colours_as_the_groups():
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(500, 2))
    colouring = colour_by(rng.integers(0, 4, 500).astype(float), "label")
    shown = rng.random(500) < 0.7
    groups, flat = point_groups(coords, colouring, shown), flat_points(coords, colouring, shown)
    assert flat.counts == tuple(len(pos) for pos, _ in groups.groups)
    for k, (pos, rgb) in enumerate(groups.groups):
        assert tuple(flat.colours[k]) == rgb
        mine = np.stack([flat.x[flat.key == k], flat.y[flat.key == k]], 1)
        assert np.allclose(np.sort(mine, 0), np.sort(pos, 0), atol=1e-6)
    assert np.allclose(flat.lo, coords.min(0), atol=1e-6) and np.allclose(flat.hi, coords.max(0), atol=1e-6)


def test_point_groups_put_the_searched_out_points_underneath_in_grey():
    coords = np.arange(12, dtype=float).reshape(6, 2)
    colouring = colour_by(np.array([0, 1, 0, 1, 1, 0], float), "label")
    shown = np.array([True, True, False, True, False, True])
    points = point_groups(coords, colouring, shown)
    assert points.groups[0][1] == DIMMED and points.groups[0][0].tolist() == coords[[2, 4]].tolist()
    by_colour = {rgb: pos.tolist() for pos, rgb in points.groups[1:]}
    assert sorted(map(len, by_colour.values())) == [2, 2]
    assert np.array_equal(points.lo, coords.min(0)) and np.array_equal(points.hi, coords.max(0))
