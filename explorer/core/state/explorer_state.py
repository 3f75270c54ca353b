"""What the explorer shows, as Qt-free state that widgets observe (psygnal signals); the
model, the data and the generation they belong to.

Data flows one way: input sets state -> the controller asks the worker -> worker results
come back into state -> views observe state and redraw. Nothing here runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import Signal

from explorer.core.data import Dataset
from explorer.core.maps import projection as proj
from explorer.core.maps.build import PCA, BuiltMap, FirstMap, LatentSpace, build_map, index_latents
from explorer.core.maps.colouring import Colouring
from explorer.core.space.neighbours import PointIndex
from explorer.core.space.vectors import AttributeVector, SliderSet
from explorer.core.state.compute import Runner, Work, run_inline
from explorer.core.state.focus_state import FILL_MEAN, FILL_NEAREST, N_NEIGHBOURS, Cursor, FocusPart
from explorer.core.state.map_state import COLOUR_KL, COLOUR_NONE, COLOUR_RECON, MapPart, colouring_for
from explorer.core.state.slider_state import SliderPart
from explorer.core.state.slots import Slot
from explorer.core.state.strip_state import StripState
from explorer.core.store.encoding import Encodings
from explorer_models.vae import ModelInfo

# the names importers know this module by (each lives in its part's module)
__all__ = [
    "COLOUR_KL",
    "COLOUR_NONE",
    "COLOUR_RECON",
    "FILL_MEAN",
    "FILL_NEAREST",
    "N_NEIGHBOURS",
    "Cursor",
    "Decoded",
    "ExplorerState",
    "colouring_for",
]


@dataclass(frozen=True)
class Decoded:
    request_id: int
    images: np.ndarray  # (B, H, W, C) uint8
    latents: np.ndarray  # (B, D), what was decoded


class ExplorerState(MapPart, FocusPart, SliderPart):
    """The whole state: its fields and signals are declared here; the map (map_state.py), the
    cursor and focus (focus_state.py) and the sliders (slider_state.py) keep their methods in
    modules of their own."""

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
