import numpy as np
import pytest
from scipy.special import ndtr

from explorer.core.space import paths as P
from explorer.core.space.neighbours import PointIndex
from explorer.core.space.support import SupportMeter

T = np.linspace(0, 1, 9)


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("method", P.METHODS)
def test_every_method_returns_the_endpoints_exactly(method):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16) * 3, rng.standard_normal(16) * 3
    out = P.interpolate(method, a, b, T)
    assert out.shape == (9, 16)
    assert np.array_equal(out[0], a) and np.array_equal(out[-1], b)


def test_slerp_keeps_unit_norm_for_unit_endpoints_and_moves_at_constant_angular_speed():
    rng = np.random.default_rng(1)
    a, b = _unit(rng.standard_normal(16)), _unit(rng.standard_normal(16))
    out = P.slerp(a, b, T)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-12)
    angles = np.arccos(np.clip(out @ a, -1, 1))
    assert np.allclose(np.diff(angles), np.arccos(a @ b) / 8, atol=1e-9)


def test_slerp_matches_the_formula_for_general_vectors():
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    w = np.pi / 2
    expected = (np.sin((1 - 0.3) * w) * a + np.sin(0.3 * w) * b) / np.sin(w)
    assert np.allclose(P.slerp(a, b, [0.3])[0], expected)


def test_slerp_of_identical_or_nearly_parallel_vectors_is_lerp_and_finite():
    a = _unit(np.arange(1.0, 9.0))
    same = P.slerp(a, a, T)
    assert np.isfinite(same).all() and np.allclose(same, a)  # identical: every step is a
    b = _unit(a + 1e-9 * np.eye(8)[0])
    assert np.allclose(P.slerp(a, b, T), P.lerp(a, b, T), atol=1e-12)


@pytest.mark.parametrize("eps", [0.0, 1e-7])
def test_slerp_of_antipodal_vectors_turns_through_a_fixed_perpendicular_with_unit_norm(eps):
    a = _unit(np.arange(1.0, 9.0))
    b = _unit(-a + eps * np.eye(8)[3])
    out = P.slerp(a, b, T)
    assert np.isfinite(out).all()
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-9)
    assert np.array_equal(out[0], a) and np.array_equal(out[-1], b)
    # halfway it is perpendicular to both ends, along the axis least aligned with a (axis 0)
    mid = out[4]
    assert abs(mid @ a) < 1e-9 and np.argmax(np.abs(mid)) == 0
    assert np.array_equal(P.slerp(a, b, T), out)  # deterministic


def test_slerp_with_a_zero_endpoint_is_a_straight_line():
    a, b = np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0])
    assert np.allclose(P.slerp(a, b, T), T[:, None] * b)


def test_gauss_lerp_interpolates_the_cdf_per_coordinate_even_in_the_tails():
    a, b = np.array([-1.0, 0.5, 8.5, -9.0]), np.array([1.0, 2.5, 9.5, 9.0])
    out = P.gauss_lerp(a, b, [0.5])[0]
    assert np.allclose(ndtr(out[:2]), 0.5 * (ndtr(a[:2]) + ndtr(b[:2])))
    assert out[0] == pytest.approx(0.0, abs=1e-12)
    # both ends far in the upper tail: the step stays between them (no collapse to inf or 8.3)
    assert 8.5 < out[2] < 9.5
    assert np.isfinite(out).all()


def test_unknown_method_is_a_clear_error():
    with pytest.raises(P.PathError, match="unknown method 'cubic'; choose one of lerp, slerp, gauss"):
        P.interpolate("cubic", np.zeros(2), np.ones(2), T)


def test_a_path_through_keyframes_passes_each_keyframe_and_counts_steps_per_segment():
    keys = np.eye(3)
    latents, t = P.through_keyframes(P.LERP, keys, steps=5)
    assert latents.shape == (9, 3)  # (3 - 1) * (5 - 1) + 1
    assert np.array_equal(latents[[0, 4, 8]], keys)
    assert np.allclose(t, np.linspace(0, 2, 9))
    with pytest.raises(P.PathError, match="at least two keyframes"):
        P.through_keyframes(P.LERP, keys[:1], 5)


def test_sweep_moves_in_slider_units():
    start, unit = np.array([1.0, 1.0]), np.array([0.0, 1.0])
    latents, c = P.sweep(start, unit, std=0.5, c_from=-2, c_to=2, steps=5)
    assert np.allclose(c, [-2, -1, 0, 1, 2])
    assert np.allclose(latents[:, 1], 1.0 + 0.5 * c) and np.allclose(latents[:, 0], 1.0)


def test_grid_has_its_corners_and_is_bilinear_for_lerp():
    corners = np.array([[0.0, 0], [1, 0], [0, 1], [1, 1]])  # tl, tr, bl, br
    latents, frac = P.grid(P.LERP, corners, rows=3, cols=4)
    cells = latents.reshape(3, 4, 2)
    assert np.array_equal(cells[0, 0], corners[0]) and np.array_equal(cells[0, -1], corners[1])
    assert np.array_equal(cells[-1, 0], corners[2]) and np.array_equal(cells[-1, -1], corners[3])
    assert np.allclose(latents, frac)  # x = tx, y = ty for this unit square


def test_analogy_corners_complete_the_parallelogram():
    a, b, c = np.array([0.0, 0]), np.array([2.0, 0]), np.array([0.0, 1])
    assert np.array_equal(P.analogy_corners(a, b, c)[3], [2.0, 1.0])


def test_support_flags_steps_that_leave_the_data():
    rng = np.random.default_rng(0)
    blob_a = rng.normal(0, 0.1, (300, 2))
    blob_b = rng.normal(0, 0.1, (300, 2)) + np.array([10, 0])
    meter = SupportMeter(np.r_[blob_a, blob_b])
    latents, _ = P.through_keyframes(P.LERP, np.array([[0.0, 0], [10, 0]]), steps=11)
    support = meter(latents)
    assert not support.off_data[0] and not support.off_data[-1]
    assert support.off_data[1:10].all()  # the gap between the blobs
    assert support.distance[5] == pytest.approx(np.min(np.linalg.norm(np.r_[blob_a, blob_b] - [5, 0], axis=1)))
    assert support.describe().startswith("9 of 11 steps are off the data") and support.describe().endswith("steps 2-10")
    near = meter(np.array([[0.0, 0.0], [10.0, 0.0]]))
    assert near.describe() == "every step lies within the data"
    assert PointIndex(blob_a).distances([[0, 0]])[1][0] == np.argmin(np.linalg.norm(blob_a, axis=1))


def test_points_are_widened_block_by_block_to_the_same_float64_values(monkeypatch, tmp_path):
    from explorer.core.space import neighbours

    monkeypatch.setattr(neighbours, "BLOCK", 7)  # several blocks and a short last one
    values = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    np.save(tmp_path / "mu.npy", values)
    mapped = np.load(tmp_path / "mu.npy", mmap_mode="r")
    wide = neighbours.as_float64(mapped)
    assert wide.dtype == np.float64 and wide.flags.c_contiguous and np.array_equal(wide, values.astype(np.float64))
    already = np.zeros((4, 2))
    assert neighbours.as_float64(already) is already  # nothing to widen: no copy
