"""The slider part of the explorer's state: attribute vectors, their sliders and the latent
they move. Mixed into ExplorerState, which declares the fields and signals used here."""

from __future__ import annotations

import numpy as np

from explorer.core.space.vectors import AttributeVector, combined_offset, orthogonalised
from explorer.core.state.compute import Work


class SliderPart:
    def add_vector(self, vector: AttributeVector) -> None:
        self.add_vectors([vector])

    def add_vectors(self, vectors: list[AttributeVector]) -> None:
        """Add sliders for `vectors`, as one change (the panel builds its rows once). ValueError,
        adding none, when one does not fit the model's latent size."""
        for vector in vectors:
            if vector.direction.shape != (self.latent_dim,):
                raise ValueError(f"{vector.name} has {vector.direction.size} dimensions, the model {self.latent_dim}")
        for vector in vectors:
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
