"""The map part of the explorer's state: the projection shown, the points' colours, the
search and the selection groups. Every O(N) step goes through `self.run` (compute.py); the
setters only swap finished results in. Mixed into ExplorerState, which declares the fields
and signals used here."""

from __future__ import annotations

import numpy as np

from explorer.core.data import Dataset
from explorer.core.maps import projection as proj
from explorer.core.maps.build import PCA, BuiltMap, build_map, make_projection
from explorer.core.maps.colouring import Colouring, colour_by, uniform
from explorer.core.maps.fits import embedded, fitted_steps
from explorer.core.maps.nonlinear import METHODS
from explorer.core.maps.search import SearchError, search
from explorer.core.state.compute import Work
from explorer.core.store.encoding import Encodings

COLOUR_NONE, COLOUR_RECON, COLOUR_KL = "none", "reconstruction error", "KL"
RECON_TITLE, KL_TITLE = "recon. RMS error (0-255)", "KL (nats)"


def colouring_for(key: str, encodings: Encodings, dataset: Dataset | None) -> Colouring:
    """The points' colours for a colour key (O(N): run it off the GUI thread)."""
    if key == COLOUR_RECON:
        # RMS error in grey levels (0..255) reads at a glance and does not depend on the
        # decoder's likelihood; -log p(x|z) runs to tens of thousands of nats, negative for
        # a sharp Gaussian decoder (the posterior panel shows it)
        return colour_by(255 * np.sqrt(np.asarray(encodings.mse, np.float64)), RECON_TITLE)
    if key == COLOUR_KL:
        return colour_by(encodings.kl, KL_TITLE)
    if dataset is not None and key in dataset.label_names:
        return colour_by(dataset.label(key), key)
    return uniform(len(encodings))


class MapPart:
    _maps_asked = 0  # maps asked for so far (_ask_map); ExplorerState's own once one is asked

    # -- the map --------------------------------------------------------------------------
    @property
    def projection(self) -> proj.Projection | None:
        return None if self.map is None else self.map.projection

    @property
    def projection_source(self) -> tuple:
        return PCA if self.map is None else self.map.source

    @property
    def coords(self) -> np.ndarray | None:
        """(N, 2) map position of every data point."""
        return None if self.map is None else self.map.coords

    def set_projection(self, projection: proj.Projection, source: tuple = ("custom",)) -> None:
        encodings = self.encodings
        self._ask_map(Work.MAP, lambda: build_map(encodings.mu, projection, source))

    def _ask_map(self, work: Work, compute) -> None:
        """Build a map through self.run and show it, unless another map was asked for meanwhile:
        builds and fits run on different threads, and the newest asked is the one shown."""
        self._maps_asked += 1
        asked, encodings = self._maps_asked, self.encodings

        def swap(built: BuiltMap) -> None:
            if self._maps_asked == asked and encodings is self.encodings:
                self._swap_map(built)

        self.run(work, compute, swap)

    def _swap_map(self, built: BuiltMap) -> None:
        self.map = built
        self.projection_changed.emit()
        if self.pinned is not None:  # the pin keeps its latent; only its map position moves
            self.pinned = self.cursor_for_latent(self.pinned.latent)
            self.pinned_changed.emit(self.pinned)

    def set_pca(self) -> None:
        encodings = self.encodings
        self._ask_map(Work.MAP, lambda: build_map(encodings.mu, proj.pca(encodings.mu), PCA))

    def set_nonlinear(self, method: str, seed: int = 0) -> None:
        """A UMAP or t-SNE map ("umap", "tsne"), fitted a step at a time with progress (Work.FIT:
        on a thread of its own in the window), or read from the cache. The map shown stays in
        use until it is ready, and stays if the fit is cancelled or another map is asked for."""
        mu = self.encodings.mu
        self.say(f"fitting the {METHODS[method]} map of {len(mu):,} points …")

        def fit():  # a step function (Work.FIT is STEPPED)
            coords = yield from fitted_steps(method, mu, seed)
            projection = embedded(method, mu, coords, seed)
            return build_map(projection.mu, projection, (method,))  # its own mu: the positions, unsearched

        self._ask_map(Work.FIT, fit)

    def set_raw_dims(self, i: int, j: int) -> None:
        self.set_projection(proj.raw_dims(self.latent_dim, i, j), ("raw", int(i), int(j)))

    def set_along_vector(self, index: int) -> None:
        v, encodings, source = self.sliders.vectors[index], self.encodings, ("vector", int(index))
        self._ask_map(
            Work.MAP,
            lambda: build_map(encodings.mu, make_projection(encodings.mu, ("vector",), self.latent_dim, v), source),
        )

    def colour_choices(self) -> list[str]:
        """No label, each label, and the per-point terms the encodings have (a latents file has
        no reconstruction error, and no KL without its logvar)."""
        names = list(self.dataset.label_names) if self.dataset else []
        enc = self.encodings
        terms = [k for k, column in ((COLOUR_RECON, "recon"), (COLOUR_KL, "kl")) if enc is None or _known(enc, column)]
        return [COLOUR_NONE, *names, *terms]

    def set_colour(self, key: str) -> None:
        encodings, dataset = self.encodings, self.dataset
        self.run(
            Work.COLOURING,
            lambda: colouring_for(key, encodings, dataset),
            lambda colouring: self._swap_colouring(key, colouring) if encodings is self.encodings else None,
        )

    def _swap_colouring(self, key: str, colouring: Colouring) -> None:
        known = key in (COLOUR_RECON, COLOUR_KL) or (self.dataset is not None and key in self.dataset.label_names)
        self.colour_key, self.colouring = (key if known else COLOUR_NONE), colouring
        self.colouring_changed.emit()

    def set_search(self, query: str) -> None:
        """Grey out the points a query leaves out (state.run). A query it cannot read keeps the
        last mask and sets `search_error` to a message for the user."""
        ds = self.dataset

        mask, count = self.search_mask, self.search_count

        def run_search() -> tuple[np.ndarray | None, int, str]:
            try:
                found = search(query, len(ds), ds.labels, ds.label_names)
            except SearchError as e:
                return mask, count, str(e)
            return found, (0 if found is None else int(np.count_nonzero(found))), ""

        def swap(found: tuple[np.ndarray | None, int, str]) -> None:
            if ds is self.dataset:
                self.search_mask, self.search_count, self.search_error = found
                self.search_changed.emit(self.search_mask)

        self.run(Work.SEARCH, run_search, swap)

    def set_fill_mode(self, mode: str) -> None:
        self.fill_mode = mode
        if self.cursor is not None:
            self.move_cursor(self.cursor.map_xy)

    def select(self, group: str, indices: np.ndarray) -> None:
        self.selection[group] = np.asarray(indices, int)
        self.selection_changed.emit()

    def select_in_rect(self, group: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """Select the points inside a box on the map as `group` (state.run: a pass over all)."""
        (xa, xb), (ya, yb) = sorted((x0, x1)), sorted((y0, y1))
        built = self.map

        def inside() -> np.ndarray:
            c = built.coords
            return np.flatnonzero((c[:, 0] >= xa) & (c[:, 0] <= xb) & (c[:, 1] >= ya) & (c[:, 1] <= yb))

        self.run(Work.SELECTION, inside, lambda found: self.select(group, found) if built is self.map else None)


def _known(encodings, column: str) -> bool:
    values = getattr(encodings, column)
    return len(values) == 0 or bool(np.isfinite(values[0]))
