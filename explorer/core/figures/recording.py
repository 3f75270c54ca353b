"""A recorded walk: the latents the cursor (a drag over the map) or the sliders passed through,
kept in order so they can be exported like a strip (figure kind RECORDING: one frame each).

A drag sends a latent per mouse move, far more than a figure can hold, so the recorder keeps a
bounded number: when its store is full it drops every other latent, which keeps the kept ones
evenly spread over the walk in time, and keyframes() thins them to at most `limit` frames.
"""

from __future__ import annotations

import numpy as np

from explorer.core.figures.figure import MAX_IMAGES, Keyframe

SOURCE = "recorded"
STORE_FACTOR = 8  # latents kept before halving, per frame allowed


class Recorder:
    def __init__(self, limit: int = MAX_IMAGES):
        self.limit = int(limit)
        self._latents: list[np.ndarray] = []
        self._stride = 1  # after halvings, one latent is kept for every `_stride` offered
        self._offered = 0
        self._last: np.ndarray | None = None  # the walk's end, kept even when the stride skips it

    def __len__(self) -> int:
        return len(self._latents)

    def add(self, latent) -> bool:
        """Keep a latent of the walk; a repeat of the last one offered (a move that did not move
        the latent) is skipped. Returns whether it was kept."""
        latent = np.array(latent, np.float32).ravel()  # a copy: a caller may reuse its buffer
        if self._last is not None and np.array_equal(latent, self._last):
            return False
        self._last = latent
        self._offered += 1
        if (self._offered - 1) % self._stride:
            return False
        self._latents.append(latent)
        if len(self._latents) >= STORE_FACTOR * self.limit:
            self._latents = self._latents[::2]
            self._stride *= 2
        return True

    def keyframes(self) -> list[Keyframe]:
        """At most `limit` latents spread evenly over the walk, from its first to its last, as a
        recording's keyframes."""
        walk = list(self._latents)
        if walk and not np.array_equal(walk[-1], self._last):
            walk.append(self._last)
        n = len(walk)
        keep = np.unique(np.round(np.linspace(0, n - 1, min(n, self.limit))).astype(int)) if n else []
        return [Keyframe(walk[i], None, SOURCE) for i in keep]
