"""What the explorer shows, as Qt-free state that widgets observe (psygnal signals).

Data flows one way: input sets state -> the controller asks the worker -> worker results
come back into state -> views observe state and redraw. Nothing here runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import Signal

from explorer.core.data import Dataset
from explorer.core.maps import projection as proj
from explorer.core.maps.build import (
    PCA,
    BuiltMap,
    FirstMap,
    LatentSpace,
    build_map,
    index_latents,
    make_projection,
)
from explorer.core.maps.colouring import Colouring, colour_by, uniform
from explorer.core.maps.search import SearchError, search
from explorer.core.space.neighbours import PointIndex
from explorer.core.space.vectors import AttributeVector, SliderSet, combined_offset, orthogonalised
from explorer.core.state.compute import Runner, Work, run_inline
from explorer.core.state.slots import Slot
from explorer.core.state.strip_state import StripState
from explorer.core.store.encoding import Encodings
from models.vae import ModelInfo

FILL_NEAREST, FILL_MEAN = "nearest", "mean"
N_NEIGHBOURS = 8  # latent-space neighbours shown for the focus
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


@dataclass(frozen=True)
class Cursor:
    """A latent under the cursor (or pinned): where it is on the map and its nearest data point."""

    map_xy: np.ndarray  # (2,)
    latent: np.ndarray  # (D,) float32
    nearest: int  # index of the nearest data point on the map


@dataclass(frozen=True)
class Decoded:
    request_id: int
    images: np.ndarray  # (B, H, W, C) uint8
    latents: np.ndarray  # (B, D), what was decoded


class ExplorerState:
    model_changed = Signal()  # model info / device
    data_changed = Signal()  # dataset or its encodings
    projection_changed = Signal()  # a new map was swapped in (or the map was cleared)
    colouring_changed = Signal()
    cursor_changed = Signal(object)  # Cursor | None
    pinned_changed = Signal(object)  # Cursor | None
    # The data point the panels describe (`focus`). Most cursor moves keep it, and what is drawn
    # of it need not be redrawn then.
    focus_changed = Signal(object)  # int | None
    # The cursor rests on the focus (the controller says when) and its neighbours in the latent
    # space were found (off the GUI thread: ~10 ms at 1,000,000 16-D points, too slow per move).
    focus_settled = Signal(int)
    search_changed = Signal(object)  # mask (N,) bool | None
    decoded_changed = Signal(object, object)  # Slot, Decoded
    status_changed = Signal(str)  # one line for the status bar
    vectors_changed = Signal()  # attribute vectors added, removed, reordered or orthogonalised
    offsets_changed = Signal()  # a slider moved: the moved latent changed
    selection_changed = Signal()  # map selection groups A and B

    def __init__(self) -> None:
        # The generation of the model and dataset shown: it changes whenever either is swapped
        # in, and work asked about an older one is dropped when it comes back (the controller).
        self.generation = 0
        self._issued = 0
        self.run: Runner = run_inline  # O(N) work goes through here (compute.py)
        self.model_info: ModelInfo | None = None
        self.latent_dim = 0
        self.device_name = ""
        self.dataset: Dataset | None = None
        self.encodings: Encodings | None = None
        self.latent_space: LatentSpace | None = None  # KD-tree of mu, support meter
        self.map: BuiltMap | None = None  # projection, positions, KD-tree of positions
        self.colour_key = COLOUR_NONE
        self.colouring: Colouring | None = None
        self.fill_mode = FILL_NEAREST
        self.cursor: Cursor | None = None
        self.pinned: Cursor | None = None
        self.search_mask: np.ndarray | None = None
        self.search_error = ""  # why the last query could not be read ("" when it could)
        self.search_count = 0  # points the mask keeps
        self.decoded: dict[Slot, Decoded] = {}  # Slot is a str: decoded["cursor"] works too
        self.sliders = SliderSet()
        self._effective: list[AttributeVector] = []  # sliders.effective(mu), made off the GUI thread
        self.selection: dict[str, np.ndarray] = {"A": np.zeros(0, int), "B": np.zeros(0, int)}
        self._last_neighbours: tuple = (None, None)
        self._told_focus: int | None = None  # the focus focus_changed last announced
        self.settled_focus: int | None = None  # the focus focus_settled last announced
        self.strip = StripState(self)  # keyframes and the interpolation figure made of them

    def issue_generation(self) -> int:
        """A new generation for a model or dataset about to be opened (swapped in later)."""
        self._issued = max(self._issued, self.generation) + 1
        return self._issued

    # -- model and data -------------------------------------------------------------------
    def set_model(self, info: ModelInfo, latent_dim: int, device_name: str, generation: int | None = None) -> None:
        """A new model: everything made with the old one (the encodings, the map, vectors,
        decoded images) is cleared, and the dataset is opened again for it."""
        self.generation = self.issue_generation() if generation is None else generation
        self.model_info, self.latent_dim, self.device_name = info, latent_dim, device_name
        self._clear(None)
        self.model_changed.emit()
        self._announce_clear()

    def set_dataset(self, dataset: Dataset, generation: int | None = None) -> None:
        self.generation = self.issue_generation() if generation is None else generation
        self._clear(dataset)
        binary = dataset.binary_label_names()
        self.colour_key = binary[0] if binary else COLOUR_NONE
        self._announce_clear()

    def _clear(self, dataset: Dataset | None) -> None:
        self.dataset, self.encodings, self.decoded = dataset, None, {}
        self.latent_space = self.map = self.colouring = None
        self.sliders, self._effective = SliderSet(), []
        self.selection = {"A": np.zeros(0, int), "B": np.zeros(0, int)}
        self.cursor = self.pinned = self.search_mask = None
        self.search_error = ""
        self._last_neighbours = (None, None)
        self._told_focus = self.settled_focus = None

    def _announce_clear(self) -> None:
        self.data_changed.emit()
        self.projection_changed.emit()
        self.vectors_changed.emit()
        self.selection_changed.emit()
        self.cursor_changed.emit(None)
        self.pinned_changed.emit(None)
        self.strip.reset()

    def set_encodings(self, encodings: Encodings) -> None:
        """Swap in the dataset's encodings; the first map is built from them (state.run)."""
        if self.dataset is None or len(encodings) != len(self.dataset):
            raise ValueError("encodings do not match the open dataset")
        self.encodings, self.latent_space, self.map = encodings, None, None
        self._last_neighbours = (None, None)
        self._told_focus = self.settled_focus = None  # the views clear what they showed of it
        self.data_changed.emit()
        key, dataset, mu = self.colour_key, self.dataset, encodings.mu

        def build():
            return FirstMap(
                index_latents(encodings), build_map(mu, proj.pca(mu), PCA), colouring_for(key, encodings, dataset)
            )

        self.run(Work.MAP, build, lambda first: self._swap_first_map(encodings, key, first))

    def _swap_first_map(self, encodings: Encodings, key: str, first: FirstMap) -> None:
        if encodings is not self.encodings:
            return  # other encodings came meanwhile
        self.latent_space = first.space
        self._swap_colouring(key, first.colouring)  # before the map: it draws and ranges once both exist
        self.strip.reset()  # new encodings, new data support; keyframes come once the map is up
        self._swap_map(first.map)

    @property
    def ready(self) -> bool:
        return self.encodings is not None and self.map is not None and self.latent_space is not None

    @property
    def latent_index(self) -> PointIndex | None:
        """A KD-tree of every data point's mu (nearest points in the latent space)."""
        return None if self.latent_space is None else self.latent_space.index

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
        self.run(
            Work.MAP,
            lambda: build_map(encodings.mu, projection, source),
            lambda built: self._swap_map(built) if encodings is self.encodings else None,
        )

    def _swap_map(self, built: BuiltMap) -> None:
        self.map = built
        self.projection_changed.emit()
        if self.pinned is not None:  # the pin keeps its latent; only its map position moves
            self.pinned = self.cursor_for_latent(self.pinned.latent)
            self.pinned_changed.emit(self.pinned)

    def set_pca(self) -> None:
        encodings = self.encodings
        self.run(
            Work.MAP,
            lambda: build_map(encodings.mu, proj.pca(encodings.mu), PCA),
            lambda built: self._swap_map(built) if encodings is self.encodings else None,
        )

    def set_raw_dims(self, i: int, j: int) -> None:
        self.set_projection(proj.raw_dims(self.latent_dim, i, j), ("raw", int(i), int(j)))

    def set_along_vector(self, index: int) -> None:
        v, encodings = self.sliders.vectors[index], self.encodings
        self.run(
            Work.MAP,
            lambda: build_map(
                encodings.mu, make_projection(encodings.mu, ("vector",), self.latent_dim, v), ("vector", int(index))
            ),
            lambda built: self._swap_map(built) if encodings is self.encodings else None,
        )

    def colour_choices(self) -> list[str]:
        names = list(self.dataset.label_names) if self.dataset else []
        return [COLOUR_NONE, *names, COLOUR_RECON, COLOUR_KL]

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

    # -- cursor and pin -------------------------------------------------------------------
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

    def set_decoded(self, slot: Slot | str, decoded: Decoded) -> bool:
        """Keep a worker result unless a newer one for the same slot is already shown."""
        slot = Slot(slot)
        shown = self.decoded.get(slot)
        if shown is not None and shown.request_id > decoded.request_id:
            return False
        self.decoded[slot] = decoded
        self.decoded_changed.emit(slot, decoded)
        return True

    def say(self, message: str) -> None:
        self.status_changed.emit(message)

    # -- attribute vectors and sliders -----------------------------------------------------
    def add_vector(self, vector: AttributeVector) -> None:
        if vector.direction.shape != (self.latent_dim,):
            raise ValueError(f"{vector.name} has {vector.direction.size} dimensions, the model {self.latent_dim}")
        self.sliders.add(vector)
        self._update_effective()

    def remove_vector(self, index: int) -> None:
        self.sliders.remove(index)
        self._update_effective()
        self.offsets_changed.emit()

    def set_orthogonalise(self, on: bool) -> None:
        self.sliders.orthogonalise = on
        self._update_effective()
        self.offsets_changed.emit()

    def _update_effective(self) -> None:
        """The directions the sliders move along, made once per change of the vectors (the
        orthogonalised ones need the std of every point's projection: O(N), so state.run)."""
        vectors, encodings = list(self.sliders.vectors), self.encodings
        if not (self.sliders.orthogonalise and vectors and encodings is not None):
            self._effective = vectors
            self.vectors_changed.emit()
            return

        def swap(effective: list[AttributeVector]) -> None:
            if encodings is self.encodings and vectors == self.sliders.vectors and self.sliders.orthogonalise:
                self._effective = effective
                self.vectors_changed.emit()
                self.offsets_changed.emit()

        self.run(Work.SLIDERS, lambda: orthogonalised(vectors, encodings.mu), swap)

    def effective_vectors(self) -> list[AttributeVector]:
        """The vectors the sliders move along (orthogonalised in list order when asked; the
        plain ones until the orthogonalised ones are ready)."""
        if len(self._effective) == len(self.sliders.vectors):
            return list(self._effective)
        return list(self.sliders.vectors)

    def set_slider(self, index: int, value: float) -> None:
        """Move slider `index` to `value` standard deviations; pins a point first if none is."""
        if self.pinned is None:
            self.pin(self.cursor if self.cursor is not None else self.cursor_for_latent(self.projection.offset))
        self.sliders.values[index] = float(value)
        self.offsets_changed.emit()

    def reset_sliders(self) -> None:
        self.sliders.values = [0.0] * len(self.sliders.values)
        self.offsets_changed.emit()

    def slider_offset(self) -> np.ndarray:
        return combined_offset(self.effective_vectors(), self.sliders.values, self.latent_dim)

    @property
    def moved_latent(self) -> np.ndarray | None:
        """The current latent moved by all sliders (their offsets add): what the decoder shows."""
        if self.pinned is None:
            return None
        return (self.pinned.latent + self.slider_offset()).astype(np.float32)

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
