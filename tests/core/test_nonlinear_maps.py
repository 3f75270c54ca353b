"""Issue 13: UMAP and t-SNE maps with a fast inverse: exact at the data, interpolated between."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from explorer.core.maps import nonlinear as NL


@pytest.fixture(scope="module")
def blobs():
    """300 latents in 3 clusters of 8 dimensions."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (3, 8))
    return (centres[rng.integers(0, 3, 300)] + rng.normal(0, 0.5, (300, 8))).astype(np.float32)


def test_interpolation_is_exact_at_the_data_and_between_its_neighbours(blobs):
    coords = blobs[:, :2].astype(np.float64) * 3 + 1  # any positions will do for the inverse's maths
    p = NL.EmbeddedProjection("test", blobs, coords)
    np.testing.assert_array_equal(p.inverse(coords[17]), blobs[17].astype(np.float64))  # exact, one point
    np.testing.assert_array_equal(p.inverse(coords[:50]), blobs[:50].astype(np.float64))  # exact, many
    np.testing.assert_array_equal(p.transform(blobs[:50]), coords[:50])
    between = p.inverse((coords[3] + coords[4]) / 2)
    assert np.all(between >= np.minimum(blobs.min(0), 0) - 1e-9) and between.shape == (8,)
    assert p.remoteness(coords[5]) == 0 and p.remoteness(coords[5] + 100 * p.spacing) > 50
    assert p.project_covariance(np.ones(8)) is None


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_real_fit_maps_the_clusters_apart_and_its_inverse_is_exact_at_each_point(blobs, method, isolated_cache):
    pytest.importorskip("umap" if method == "umap" else "openTSNE")  # both are in the test extra
    p = NL.embedded(method, blobs, seed=0)
    assert p.coords.shape == (300, 2) and np.isfinite(p.coords).all()
    assert p.name == NL.METHODS[method] and p.axis_labels == (f"{p.name} 1", f"{p.name} 2")
    np.testing.assert_array_equal(p.inverse(p.coords), blobs.astype(np.float64))
    np.testing.assert_array_equal(p.transform(blobs), p.coords)


@pytest.mark.parametrize(("method", "package"), [("umap", "umap"), ("tsne", "openTSNE")])
def test_without_the_extra_the_message_says_how_to_install_it(blobs, monkeypatch, method, package):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(NL.MissingExtra, match=rf'pip install "vae-explorer\[{method}\]"'):
        NL.fit(method, blobs)


def test_a_fitted_map_is_kept_in_the_cache_for_the_same_latents(blobs, isolated_cache, monkeypatch):
    fits = []
    monkeypatch.setattr(NL, "fit", lambda method, mu, seed=0: fits.append(method) or np.asarray(mu[:, :2], np.float64))
    first = NL.embedded("umap", blobs)
    again = NL.embedded("umap", blobs)
    assert fits == ["umap"] and np.array_equal(first.coords, again.coords)  # the second came from the cache
    NL.embedded("tsne", blobs)
    NL.embedded("umap", blobs[:-1])  # other latents: fitted afresh
    assert fits == ["umap", "tsne", "umap"]
