"""The inverse of a non-linear map (issue 13): its speed at 1,000,000 points (target <= 5 ms a
query) and its quality against umap-learn's own inverse_transform on held-out points.

1. Speed: 1,000,000 latents (D = 16) at 1,000,000 map positions; the time of one cursor query
   (inverse of one map point), over 2,000 queries at random map points, p50 and p95.
2. Quality: a UMAP map of 1,600 of the bundled held-out faces' latents; the other 400 are placed
   on it with UMAP's transform, and taken back to latents by our inverse and by UMAP's
   inverse_transform. Reported: RMS latent error against their true mu, the mean absolute
   pixel error of their decoded images against the decode of their true mu (0..255), and the
   time per point of each.
3. With --fit N: the time of a UMAP and of a t-SNE fit of N synthetic latents (16-D, 12
   clusters) by the app's own fit (explorer.core.maps.fits.fit), after a first small fit
   in the process (umap-learn compiles its numba code then; that first fit is reported too).

    python benchmarks/nonlinear_inverse.py [--points 1000000] [--speed-only] [--fit N] [--json PATH]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from explorer.core.data import load_dataset
from explorer.core.maps import fits, nonlinear
from explorer.core.maps.nonlinear import EmbeddedProjection
from explorer.core.store.encoding import encode_with_cache
from explorer_models import decode_images, load_model


def speed(n: int = 1_000_000, queries: int = 2_000) -> dict:
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
    return dict(points=n, index_build_s=built, inverse_p50_ms=float(p50), inverse_p95_ms=float(p95))


def quality(train: int = 1600) -> dict:
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
    figures = {}
    for what, key, latents, seconds in (
        ("ours (8 nearest, 1/d^2)", "ours", by_us, ours_s),
        ("umap inverse_transform", "umap", by_umap, umap_s),
    ):
        rms = float(np.sqrt(((latents - held) ** 2).sum(1).mean()))
        pixels = float(np.abs(decode_images(model, latents.astype(np.float32)) - truth).mean())
        errors = f"latent RMS error {rms:6.3f}, pixel error {pixels:5.1f} / 255"
        print(f"  {what:26s} {errors}, {seconds * 1000:8.3f} ms a point")
        figures.update({f"{key}_latent_rms": rms, f"{key}_pixel_error": pixels, f"{key}_ms_a_point": seconds * 1000})
    spread = np.sqrt(held.var(0).sum())
    print(f"  speed ratio: ours is {umap_s / ours_s:,.0f}x faster; mu's own RMS spread is {spread:.3f}")
    return figures


def fit_times(n: int, first: int = 300) -> dict:
    """Seconds of a UMAP and a t-SNE fit of n clustered latents (the methods installed)."""
    rng = np.random.default_rng(0)

    def latents(count: int) -> np.ndarray:
        centres = rng.normal(0, 2, (12, 16))
        return (centres[rng.integers(0, 12, count)] + rng.normal(0, 0.5, (count, 16))).astype(np.float32)

    figures = {"fit_points": n}
    for method in nonlinear.available():
        t = time.perf_counter()
        fits.fit(method, latents(first))
        first_s = time.perf_counter() - t
        mu = latents(n)
        t = time.perf_counter()
        fits.fit(method, mu)
        fit_s = time.perf_counter() - t
        name = nonlinear.METHODS[method]
        print(
            f"fit {name} of {n:,} latents: {fit_s:.1f} s (the first in the process, {first} latents: {first_s:.1f} s)"
        )
        figures.update({f"fit_{method}_s": fit_s, f"first_fit_{method}_s": first_s})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the speed test")
    parser.add_argument("--speed-only", action="store_true", help="skip the quality comparison with umap-learn")
    parser.add_argument("--fit", type=int, default=0, metavar="N", help="also time UMAP and t-SNE fits of N latents")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH (for python -m benchmarks)")
    args = parser.parse_args()
    figures = speed(args.points)
    if not args.speed_only:
        figures.update(quality())
    if args.fit:
        figures.update(fit_times(args.fit))
    if args.json:
        from gui_tools import write_figures  # (imports Qt: only now, after the timing)

        write_figures(args.json, figures, methods=nonlinear.available())


if __name__ == "__main__":
    main()
