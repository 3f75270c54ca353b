"""The cursor part of the explorer's state: the latent under the cursor, the pinned one, the
data point the panels describe (the focus) and what is shown about it. Mixed into
ExplorerState, which declares the fields and signals used here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.maps import projection as proj
from explorer.core.state.compute import Work

FILL_NEAREST, FILL_MEAN = "nearest", "mean"
N_NEIGHBOURS = 8  # latent-space neighbours shown for the focus


@dataclass(frozen=True)
class Cursor:
    """A latent under the cursor (or pinned): where it is on the map and its nearest data point."""

    map_xy: np.ndarray  # (2,)
    latent: np.ndarray  # (D,) float32
    nearest: int  # index of the nearest data point on the map


class FocusPart:
    def latent_at(self, map_xy: np.ndarray) -> Cursor:
        """The latent under a map point: the exact inverse of the projection, with the hidden
        part from the nearest data point or from the data mean (fill_mode)."""
        nearest, _ = self.map.index.nearest(map_xy)
        fill = self.encodings.mu[nearest] if self.fill_mode == FILL_NEAREST else self.projection.offset
        latent = self.projection.inverse(map_xy, fill).astype(np.float32)
        return Cursor(np.asarray(map_xy, np.float64), latent, nearest)

    def cursor_for_latent(self, latent: np.ndarray) -> Cursor:
        xy = self.projection.transform(latent)
        return Cursor(xy, np.asarray(latent, np.float32), self.map.index.nearest(xy)[0])

    def move_cursor(self, map_xy: np.ndarray) -> Cursor | None:
        if not self.ready:
            return None
        self.cursor = self.latent_at(map_xy)
        self.cursor_changed.emit(self.cursor)
        self._tell_focus()
        return self.cursor

    def pin(self, cursor: Cursor | None) -> None:
        self.pinned = cursor
        self.pinned_changed.emit(cursor)
        self._tell_focus()

    def pin_data_point(self, index: int) -> None:
        self.pin(self.cursor_for_latent(self.encodings.mu[index]))

    @property
    def focus(self) -> int | None:
        """The data point the panels describe: nearest to the cursor, else to the pin."""
        if self.cursor is not None:
            return self.cursor.nearest
        return None if self.pinned is None else self.pinned.nearest

    def _tell_focus(self) -> None:
        if self.focus != self._told_focus:
            self._told_focus = self.focus
            self.focus_changed.emit(self.focus)

    def settle_focus(self) -> None:
        """The cursor rests: find the focus's latent neighbours (state.run), then say so."""
        index, space = self.focus, self.latent_space
        if index is None or not self.ready:
            return
        mu = self.encodings.mu

        def settled(neighbours: np.ndarray) -> None:
            if space is self.latent_space:
                self._last_neighbours = ((index, N_NEIGHBOURS), neighbours)
                self.settled_focus = index
                self.focus_settled.emit(index)

        self.run(Work.NEIGHBOURS, lambda: space.index.k_nearest(mu[index], N_NEIGHBOURS, exclude=index), settled)

    @property
    def current_latent(self) -> np.ndarray | None:
        """The latent later tools act on (sliders, strips): the pinned one."""
        return None if self.pinned is None else self.pinned.latent

    # -- what the map and panels show about points -----------------------------------------
    def latent_neighbours(self, index: int, k: int = N_NEIGHBOURS) -> np.ndarray:
        """The k data points nearest to point `index` in the latent space (not on the map).

        The last answer is kept: settle_focus finds it off the GUI thread before the map and the
        panel ask."""
        if self._last_neighbours[0] != (index, k):
            self._last_neighbours = (
                (index, k),
                self.latent_space.index.k_nearest(self.encodings.mu[index], k, exclude=index),
            )
        return self._last_neighbours[1]

    def posterior_ellipse(self, index: int) -> np.ndarray | None:
        """The 1-sigma ellipse of q(z|x_index) as seen on the map, (65, 2); None where the map
        cannot show a covariance."""
        var = np.exp(np.asarray(self.encodings.logvar[index], np.float64))
        cov = self.projection.project_covariance(var)
        return None if cov is None else proj.ellipse_points(self.coords[index], cov)
