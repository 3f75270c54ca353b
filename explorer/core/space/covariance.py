"""The principal axes of a cloud of latents, from its covariance accumulated in blocks.

O(N D^2) and light on memory: an SVD of the (N, D) data is heavier and runs as one long call
(1.5 s at a million points) that holds a core and delays the window's thread.
"""

from __future__ import annotations

import numpy as np

BLOCK = 16_384  # rows per step of the covariance: each numpy call is short (< 1 ms), so other threads get the GIL


def principal_axes(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (D,), variances (D,) largest first, axes (D, D) as columns in that order). Each
    axis has a fixed sign: its largest component is positive."""
    n, d = mu.shape
    blocks = range(0, n, BLOCK)
    mean = sum(np.asarray(mu[i : i + BLOCK], np.float64).sum(0) for i in blocks) / max(n, 1)
    cov = np.zeros((d, d))
    for i in blocks:
        centred = np.asarray(mu[i : i + BLOCK], np.float64) - mean
        cov += centred.T @ centred
    var, vecs = np.linalg.eigh(cov / max(n - 1, 1))
    var, vecs = np.clip(var[::-1], 0, None), vecs[:, ::-1]
    vecs = vecs * np.where(vecs[np.abs(vecs).argmax(0), np.arange(d)] < 0, -1.0, 1.0)
    return np.asarray(mean, np.float64), var, vecs
