"""Latent traversals (explorer.core.figures.traversal): the latents, the row order and labels,
and the picture, checked against numpy computed here on hand-made encodings."""

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from explorer.core.figures import traversal as T
from explorer.core.figures.compose import Layout
from explorer.core.figures.export import Animation

N, D = 200, 6


@pytest.fixture(scope="module")
def encodings():
    """mu, logvar (N, D): dimension 3 is constant (inactive), dimension 5 varies just below the
    active-unit threshold (inactive), dimension 1 just above it (active)."""
    rng = np.random.default_rng(7)
    mu = rng.normal(0, [1.0, 0.1, 2.0, 0.0, 0.5, 0.05], (N, D)).astype(np.float32)
    mu[:, 3] = 0.25
    mu[:, 1] *= np.sqrt(0.02) / mu[:, 1].std()  # Var 0.02
    mu[:, 5] *= np.sqrt(0.005) / mu[:, 5].std()  # Var 0.005
    logvar = rng.normal(-1, 0.5, (N, D)).astype(np.float32)
    logvar[:, 3] = 0.0
    return mu, logvar


def numpy_kl(mu, logvar):
    mu, logvar = mu.astype(np.float64), logvar.astype(np.float64)
    return (0.5 * (mu**2 + np.exp(logvar) - logvar - 1)).mean(0)


def test_rows_are_sorted_by_the_mean_kl_and_only_constant_or_near_constant_dims_are_inactive(encodings):
    mu, logvar = encodings
    kl = numpy_kl(mu, logvar)
    t = T.build(T.TraversalSpec(), mu, logvar)
    assert [r.dim for r in t.rows] == list(np.argsort(-kl, kind="stable"))
    assert np.allclose([r.kl for r in t.rows], np.sort(kl)[::-1], rtol=1e-12)
    assert {r.dim for r in t.rows if r.inactive} == {3, 5}
    assert [r.label for r in t.rows if r.dim == 3] == [f"z3 · KL {kl[3]:.2f} · inactive"]
    assert [r.label for r in t.rows if r.dim == 1] == [f"z1 · KL {kl[1]:.2f}"]
    assert T.ACTIVE_UNIT_VARIANCE == 0.01

    chosen = T.build(T.TraversalSpec(dims=(4, 0, 2), sort=T.INDEX), mu, logvar)
    assert [r.dim for r in chosen.rows] == [4, 0, 2]


def rows_of(t, d=D):
    return t.latents.reshape(len(t.rows), t.spec.columns, d)


@pytest.mark.parametrize(
    "spec, expected",
    [
        (T.TraversalSpec(range=T.FIXED, lo=-2.5, hi=1.5, columns=5), lambda base, mu, u: np.linspace(-2.5, 1.5, 5)),
        (T.TraversalSpec(range=T.SIGMA, sigmas=2.0, columns=7), lambda base, mu, u: base[u] + np.linspace(-2, 2, 7)),
        (
            T.TraversalSpec(range=T.QUANTILES, quantile=0.05, columns=4),
            lambda base, mu, u: np.quantile(mu[:, u].astype(np.float64), np.linspace(0.05, 0.95, 4)),
        ),
    ],
    ids=["fixed", "sigma", "quantiles"],
)
@pytest.mark.parametrize("base", ["mean", "point", "latent"])
def test_every_row_is_the_base_but_for_its_own_dimension_which_takes_the_column_values(encodings, spec, expected, base):
    mu, logvar = encodings
    pinned = np.array([0.5, -1.0, 2.0, 0.0, 3.0, -0.25], np.float32)
    want_base, latent = mu.astype(np.float64).mean(0), None
    if base == "point":
        spec, want_base = replace(spec, base=T.POINT, index=17), mu[17]
    elif base == "latent":
        spec, want_base, latent = replace(spec, base=T.LATENT), pinned, pinned
    t = T.build(spec, mu, logvar, latent)
    want_base = np.asarray(want_base, np.float64)
    assert np.allclose(t.base, want_base, atol=1e-6)
    grid = rows_of(t)
    assert grid.shape == (D, spec.columns, D) and t.latents.dtype == np.float32
    for r, row in enumerate(t.rows):
        u = row.dim
        values = expected(want_base, mu, u)
        assert np.allclose(t.values[r], values, atol=1e-6), (r, u)
        assert np.allclose(grid[r, :, u], values, atol=1e-6)
        others = np.delete(grid[r], u, axis=1)
        assert np.allclose(others, np.delete(want_base, u)[None], atol=1e-6)


def test_mistakes_are_named(encodings):
    mu, logvar = encodings
    cases = [
        (T.TraversalSpec(dims=(1, 6)), "dims: no dimension 6; the model has 6 (0 to 5)"),
        (T.TraversalSpec(dims=(1, 1)), "a dimension is named twice"),
        (T.TraversalSpec(base=T.POINT, index=N), f"base data point {N}: no such point"),
        (T.TraversalSpec(base=T.LATENT), "a latent base needs one latent of 6 values"),
        (T.TraversalSpec(range=T.QUANTILES, quantile=0.5), "quantile 0.5: must be 0 to below 0.5"),
        (T.TraversalSpec(columns=1), "columns must be 2..32, got 1"),
        (T.TraversalSpec(range="log"), "unknown range 'log'"),
    ]
    for spec, message in cases:
        with pytest.raises(T.TraversalError, match=message.replace("(", r"\(").replace(")", r"\)")):
            T.build(spec, mu, logvar)
    no_logvar = np.full_like(logvar, np.nan)  # precomputed latents without their posterior widths
    with pytest.raises(T.TraversalError, match="sorting by KL needs the posterior log-variances"):
        T.build(T.TraversalSpec(), mu, no_logvar)
    t = T.build(T.TraversalSpec(sort=T.INDEX, dims=(3,)), mu, no_logvar)
    assert t.rows[0].label == "z3 · KL n/a · inactive"


def fake_decoded(t):
    """A distinct 4 x 3 RGB tile per latent: its index in the red channel."""
    n = len(t.latents)
    tiles = np.zeros((n, 4, 3, 3), np.uint8)
    tiles[..., 0] = np.arange(n, dtype=np.uint8)[:, None, None]
    tiles[..., 1] = 200
    return tiles


def test_render_lays_the_tiles_out_row_by_row_with_labels_on_the_left(encodings):
    mu, logvar = encodings
    t = T.build(T.TraversalSpec(columns=3, dims=(0, 3)), mu, logvar)
    tiles = fake_decoded(t)
    plain = T.render(t, tiles, Layout(padding=1, scale=2), labels=False)
    assert plain.image.shape == (1 + 2 * (8 + 1), 1 + 3 * (6 + 1), 3)
    labelled = T.render(t, tiles, Layout(padding=1, scale=2), labels=True)
    shift = labelled.image.shape[1] - plain.image.shape[1]
    assert shift > 20 and labelled.image.shape[0] == plain.image.shape[0]
    assert np.array_equal(labelled.image[:, shift:], plain.image)  # the grid itself is unchanged
    for i, (x, y, w, h) in enumerate(labelled.boxes):
        r, c = divmod(i, 3)
        assert (x, y, w, h) == (shift + 1 + c * 7, 1 + r * 9, 6, 8)
        assert (labelled.image[y : y + h, x : x + w] == (i, 200, 0)).all()
    for r in range(2):  # each row's label is drawn beside its row, in dark ink on white
        band = labelled.image[1 + r * 9 : 1 + r * 9 + 8, :shift]
        assert (band.min(axis=-1) < 128).any()


def test_an_animation_has_one_frame_per_column_with_every_row_in_it(encodings):
    mu, logvar = encodings
    t = T.build(T.TraversalSpec(columns=4, dims=(0, 2, 4)), mu, logvar)
    tiles = fake_decoded(t)
    data = T.figure_bytes(t, tiles, ".gif", Layout(padding=0), Animation(100), labels=False)
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == 4 and im.size == (3, 12)
        for j in range(4):
            im.seek(j)
            frame = np.asarray(im.convert("RGB"))
            assert [frame[4 * r, 0, 0] for r in range(3)] == [4 * r + j for r in range(3)]
