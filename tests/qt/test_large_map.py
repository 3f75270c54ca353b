"""A map of more points than are painted one by one: a density image zoomed out, the points
themselves once real wheel events have zoomed in far enough, and the same points either way."""

import numpy as np
import pytest

from explorer.core.data import Dataset
from explorer.core.maps.atlas import ATLAS_MOST
from explorer.core.maps.raster import POINTS_BELOW
from explorer.core.state.explorer_state import COLOUR_RECON, ExplorerState
from explorer.core.store.encoding import Encodings
from explorer.qt.latent_map import LatentMap
from explorer.qt.point_cloud import IMAGE_ABOVE
from explorer_models.vae import ModelInfo

N = IMAGE_ABOVE + 50_000


@pytest.fixture
def large_map(qtbot):
    rng = np.random.default_rng(0)
    n, d = N, 4
    mu = (rng.normal(size=(n, d)) * [3, 2, 1, 0.5]).astype(np.float32)
    labels = (rng.random((n, 1)) < 0.3).astype(np.float32)
    ones, errors = np.ones(n, np.float32), rng.random(n).astype(np.float32)
    state = ExplorerState()  # runs its work inline: no threads to wait on
    state.set_model(ModelInfo(name="synthetic"), d, "none")
    state.set_dataset(Dataset("synthetic", np.zeros((n, 1, 1, 3), np.uint8), labels, ("smiling",), fingerprint="s"))
    view = LatentMap(state)
    state.set_encodings(Encodings(mu=mu, logvar=np.full_like(mu, -4), recon=ones, kl=ones, mse=errors))
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.grab()
    return view, state


def _points_in_range(state, view) -> int:
    (x0, x1), (y0, y1) = view.plotItem.vb.viewRange()
    x, y = state.coords[:, 0], state.coords[:, 1]
    return int(((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).sum())


def test_zoomed_out_a_density_image_zoomed_in_the_points(large_map, send_wheel):
    view, state = large_map
    points = view._points
    shown = points.shown_image()
    assert shown is not None and shown.density
    assert shown.in_view == N  # every point framed
    assert sum(view.point_counts().values()) == N
    # the densest pixels are the brightest: the image is counts, not a scatter
    alpha = shown.pixels[..., 3]
    assert alpha.max() == 255 and 0 < alpha[alpha > 0].min() < 128

    viewport = view.viewport()
    centre = view.mapFromScene(view.scene_point(state.coords[0]))
    for _ in range(40):  # zoom in on a data point a notch at a time, as a wheel does
        send_wheel(viewport, centre, 1)
        view.grab()
        shown = points.shown_image()
        if not shown.density:
            break
    assert not shown.density, "zooming in never turned the density into points"
    assert 0 < shown.in_view <= POINTS_BELOW
    assert abs(shown.in_view - _points_in_range(state, view)) <= 0.02 * shown.in_view + 5

    for _ in range(60):  # on in, to a few hundred points: each drawn as its image
        if _points_in_range(state, view) <= ATLAS_MOST:
            break
        send_wheel(viewport, centre, 1)
        view.grab()
    inside = _points_in_range(state, view)
    assert 0 < inside <= ATLAS_MOST and len(view.atlas_shown()) == inside

    for _ in range(60):  # and back out: the density again
        send_wheel(viewport, centre, -1)
        view.grab()
        if points.shown_image().density:
            break
    assert points.shown_image().density


def test_recolouring_a_large_map_keeps_its_points_and_changes_their_colours(large_map):
    view, state = large_map
    before = view._points.shown_image().pixels.copy()
    smiling = int((state.dataset.labels[:, 0] > 0.5).sum())
    assert state.colour_key == "smiling" and view.point_counts() == {
        "smiling = 0": N - smiling,
        "smiling = 1": smiling,
        "dimmed": 0,
    }
    state.set_colour(COLOUR_RECON)  # a continuous colouring
    view.grab()
    assert sum(view.point_counts().values()) == N and len(view.point_counts()) > 20
    after = view._points.shown_image().pixels
    assert np.array_equal(before[..., 3] > 0, after[..., 3] > 0)  # the same pixels hold points
    assert not np.array_equal(before[..., :3], after[..., :3])  # in new colours


def test_the_image_puts_each_point_on_the_pixel_under_it(qtbot, monkeypatch):
    """Drawn as an image, a point lands on the screen pixel its map position falls in, as the
    cursor's ring and the points painted one by one do."""
    from explorer.qt import latent_map

    monkeypatch.setattr(latent_map, "IMAGE_ABOVE", 0)  # this small map drawn as a large one is
    rng = np.random.default_rng(5)
    n, d = 40, 2
    mu = rng.uniform(-1, 1, (n, d)).astype(np.float32)
    ones = np.ones(n, np.float32)
    state = ExplorerState()
    state.set_model(ModelInfo(name="synthetic"), d, "none")
    state.set_dataset(Dataset("s", np.zeros((n, 1, 1, 3), np.uint8), np.zeros((n, 0), np.float32), (), fingerprint="s"))
    view = LatentMap(state)
    qtbot.addWidget(view)
    view.set_point_size(1)
    view.set_opacity(1.0)
    view.set_atlas(False)  # 40 points: each would be drawn as its image
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    state.set_encodings(Encodings(mu=mu, logvar=np.full_like(mu, -4), recon=ones, kl=ones, mse=ones))
    view.grab()
    shot = view.grab().toImage()
    assert view._points.shown_image() is not None and not view._points.shown_image().density
    lit = 0
    for xy in state.coords:
        at = view.viewportTransform().map(view.scene_point(xy))  # where on the widget, to a fraction of a pixel
        colour = shot.pixelColor(int(np.floor(at.x())), int(np.floor(at.y())))  # the pixel it falls in
        lit += colour.red() + colour.green() + colour.blue() > 150
    assert lit == n
