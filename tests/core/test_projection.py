import numpy as np
import pytest

from explorer.core.maps import projection as proj


@pytest.fixture
def mu():
    rng = np.random.default_rng(0)
    return rng.normal(size=(500, 6)) @ np.diag([3, 2, 1, 0.5, 0.2, 0.1]) + 4


def test_pca_axes_are_the_top_principal_directions(mu):
    p = proj.pca(mu)
    assert np.allclose(p.axes.T @ p.axes, np.eye(2))
    coords = p.transform(mu)
    assert np.allclose(coords.mean(0), 0, atol=1e-9)
    var = coords.var(0)
    assert var[0] > var[1] > (mu - mu.mean(0)).var(0)[2:].max()  # the two largest spreads
    assert p.explained[0] > p.explained[1] > 0 and sum(p.explained) < 1


@pytest.mark.parametrize("fill_kind", ["data point", "mean"])
def test_pca_inverse_is_exact_on_the_map_and_keeps_the_hidden_part(mu, fill_kind):
    p = proj.pca(mu)
    fill = mu[17] if fill_kind == "data point" else p.offset
    target = np.array([1.5, -0.7])
    z = p.inverse(target, fill)
    assert np.allclose(p.transform(z), target, atol=1e-12)
    # the part of z the map does not show is fill's
    hidden = np.eye(6) - p.axes @ p.axes.T
    assert np.allclose(hidden @ (z - p.offset), hidden @ (fill - p.offset), atol=1e-12)
    if fill_kind == "mean":  # PCA with the mean fill: mean + x * pc1 + y * pc2
        assert np.allclose(z, p.offset + 1.5 * p.axes[:, 0] - 0.7 * p.axes[:, 1])


def test_inverse_of_a_data_points_own_position_gives_back_its_latent(mu):
    p = proj.pca(mu)
    assert np.allclose(p.inverse(p.transform(mu[3]), mu[3]), mu[3])


def test_raw_dims_shows_two_coordinates_and_keeps_the_others(mu):
    p = proj.raw_dims(6, 4, 1)
    assert np.array_equal(p.transform(mu), mu[:, [4, 1]])
    z = p.inverse(np.array([9.0, -9.0]), mu[0])
    expected = mu[0].copy()
    expected[4], expected[1] = 9.0, -9.0
    assert np.allclose(z, expected)
    assert p.axis_labels == ("z4", "z1")
    with pytest.raises(ValueError, match="two different ones in 0..5"):
        proj.raw_dims(6, 2, 2)


def test_projected_covariance_and_ellipse(mu):
    p = proj.raw_dims(6, 0, 2)
    var = np.array([4.0, 1, 0.25, 1, 1, 1])
    assert np.allclose(p.project_covariance(var), np.diag([4.0, 0.25]))
    pts = proj.ellipse_points(np.array([1.0, 2.0]), np.diag([4.0, 0.25]), n=8)
    assert np.allclose(pts[0], pts[-1])  # closed
    # every point is at Mahalanobis distance 1
    d = (pts - [1, 2]) ** 2 / np.array([4.0, 0.25])
    assert np.allclose(d.sum(1), 1)


def test_along_vector_x_is_the_projection_and_y_is_orthogonal(mu):
    v = np.array([1.0, 2, 0, 0, 0, 1])
    p = proj.along_vector(mu, v, "v")
    u = v / np.linalg.norm(v)
    coords = p.transform(mu)
    assert np.allclose(coords[:, 0], mu @ u)
    assert abs(p.axes[:, 0] @ p.axes[:, 1]) < 1e-12 and np.allclose(np.linalg.norm(p.axes, axis=0), 1)
    assert abs(coords[:, 1].mean()) < 1e-9
    z = p.inverse(np.array([2.0, -1.0]), mu[0])
    assert np.allclose(p.transform(z), [2.0, -1.0])
