"""The inverse of a non-linear map (issue 13): its speed at 1,000,000 points (target <= 5 ms a
query) and its quality against umap-learn's own inverse_transform on held-out points.

1. Speed: 1,000,000 latents (D = 16) at 1,000,000 map positions; the time of one cursor query
   (inverse of one map point), over 2,000 queries at random map points, p50 and p95.
2. Quality: a UMAP map of 1,600 of the bundled held-out faces' latents; the other 400 are placed
   on it with UMAP's transform, and taken back to latents by our inverse and by UMAP's
   inverse_transform. Reported: RMS latent error against their true mu, the mean absolute
   pixel error of their decoded images against the decode of their true mu (0..255), and the
   time per point of each.

    python benchmarks/nonlinear_inverse.py
"""

from __future__ import annotations

import time

import numpy as np
import torch

from explorer.core.data import load_dataset
from explorer.core.maps.nonlinear import EmbeddedProjection
from explorer.core.store.encoding import encode_with_cache
from explorer_models import decode_images, load_model


def speed(n: int = 1_000_000, queries: int = 2_000) -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(n, 16)).astype(np.float32)
    coords = rng.normal(size=(n, 2)) * 10
    t = time.perf_counter()
    p = EmbeddedProjection("bench", mu, coords)
    built = time.perf_counter() - t
    points = rng.uniform(coords.min(0), coords.max(0), (queries, 2))
    times = []
    for q in points:
        t = time.perf_counter()
        p.inverse(q)
        times.append((time.perf_counter() - t) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    print(f"speed at {n:,} points: index built in {built:.1f} s; one inverse query p50 {p50:.3f} ms, p95 {p95:.3f} ms")


def quality(train: int = 1600) -> None:
    import umap

    model = load_model("builtin:faces")
    data = load_dataset("builtin:faces:test")
    mu = encode_with_cache(model, data).mu.astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(mu))
    fit_mu, held = mu[order[:train]], mu[order[train:]]
    reducer = umap.UMAP(n_components=2, random_state=0, n_jobs=1)
    coords = reducer.fit_transform(fit_mu)
    placed = reducer.transform(held)
    ours = EmbeddedProjection("UMAP", fit_mu, coords)
    t = time.perf_counter()
    by_us = ours.inverse(placed)
    ours_s = (time.perf_counter() - t) / len(held)
    t = time.perf_counter()
    by_umap = reducer.inverse_transform(placed)
    umap_s = (time.perf_counter() - t) / len(held)
    torch.set_num_threads(2)
    truth = decode_images(model, held).astype(np.float64)
    print(f"quality on {len(held)} held-out faces (UMAP fitted on {train:,}):")
    for what, latents, seconds in (
        ("ours (8 nearest, 1/d^2)", by_us, ours_s),
        ("umap inverse_transform", by_umap, umap_s),
    ):
        rms = float(np.sqrt(((latents - held) ** 2).sum(1).mean()))
        pixels = float(np.abs(decode_images(model, latents.astype(np.float32)) - truth).mean())
        errors = f"latent RMS error {rms:6.3f}, pixel error {pixels:5.1f} / 255"
        print(f"  {what:26s} {errors}, {seconds * 1000:8.3f} ms a point")
    spread = np.sqrt(held.var(0).sum())
    print(f"  speed ratio: ours is {umap_s / ours_s:,.0f}x faster; mu's own RMS spread is {spread:.3f}")


if __name__ == "__main__":
    import sys

    speed()
    if "--speed-only" not in sys.argv:
        quality()
