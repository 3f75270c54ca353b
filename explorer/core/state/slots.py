"""The decoder's slots: what each decoded batch is for. A newer decode replaces a pending one
in its slot (latest wins), and the model thread serves slots in this order."""

from __future__ import annotations

import enum


class Slot(str, enum.Enum):  # a str too: state.decoded["cursor"] reads as well as [Slot.CURSOR]
    CURSOR = "cursor"  # the latent under the cursor (or the pinned one moved by the sliders)
    NEAREST = "nearest"  # the reconstruction of the nearest data point
    POSTERIOR = "posterior"  # samples from its posterior q(z|x)
    PRIOR = "prior"  # samples from the prior
    STRIP = "strip"  # the strip or grid: many latents, decoded in chunks
    TRAVERSAL = "traversal"  # the strip panel's traversal: a row per latent dimension, in chunks

    @property
    def rank(self) -> int:
        """Its place in the serving order (0 first)."""
        return list(Slot).index(self)
