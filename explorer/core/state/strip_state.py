"""The strip panel's state, Qt-free: keyframes, what figure to make of them, and the figure
(latents and data support) the worker is asked to decode. The map and the panel observe it.

Keyframes are data points (shift-click on the map), the pinned point, or the pinned point
moved by the attribute sliders. A sweep starts from the first keyframe, or from the moved
pinned point when there is none. While recording, every latent the cursor or the sliders pass
through is kept (figures/recording.py); stopping makes the walk the keyframes of a RECORDING.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from psygnal import Signal

from explorer.core.figures import figure as F
from explorer.core.figures.recording import Recorder
from explorer.core.space.support import Support
from explorer_models.errors import UserInputError

HINT = "shift-click points on the map to add keyframes"
NOT_READY = "the dataset is still being encoded"


class StripState:
    figure_changed = Signal()  # a new figure to preview (or a problem that says why there is none)
    recording_changed = Signal(bool)  # a recording started (True) or stopped (False)

    def __init__(self, explorer):
        self._explorer = explorer  # ExplorerState: encodings, pinned point, attribute vectors
        self.keyframes: list[F.Keyframe] = []
        self.spec = F.FigureSpec()
        self.vector_index = 0  # the attribute vector a sweep follows
        self.figure: F.Figure | None = None
        self.support: Support | None = None
        self.problem = NOT_READY
        self.recorder: Recorder | None = None  # while recording
        for signal in (
            explorer.vectors_changed,
            explorer.offsets_changed,
            explorer.pinned_changed,
            explorer.projection_changed,
        ):
            signal.connect(self._on_explorer_change)

    # -- keyframes ---------------------------------------------------------------------------
    def add(self, keyframe: F.Keyframe) -> None:
        self.keyframes.append(keyframe)
        self.rebuild()

    def add_data_point(self, index: int) -> None:
        self.add(F.Keyframe.data_point(self._explorer.encodings.mu, index))

    def add_pinned(self, moved: bool = False) -> bool:
        """The pinned point (moved by the sliders if `moved`) as a keyframe; False if none is pinned."""
        s = self._explorer
        if s.pinned is None:
            return False
        if moved:
            values = [f"{v.label or v.name} {c:+.2f}" for v, c in zip(s.sliders.vectors, s.sliders.values) if c]
            self.add(F.Keyframe(s.moved_latent, None, f"moved ({', '.join(values) or 'no offset'})"))
        else:
            self.add(F.Keyframe(s.pinned.latent, None, "pinned point"))
        return True

    def remove(self, index: int) -> None:
        del self.keyframes[index]
        self.rebuild()

    def clear(self) -> None:
        self.keyframes = []
        self.rebuild()

    def set_keyframes(self, keyframes: list[F.Keyframe]) -> None:
        self.keyframes = list(keyframes)
        self.rebuild()

    # -- recording a walk ----------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def start_recording(self) -> None:
        if self.recording:
            return
        self.recorder = Recorder()
        self._explorer.cursor_changed.connect(self._record_cursor)
        self._explorer.offsets_changed.connect(self._record_sliders)
        self.recording_changed.emit(True)

    def stop_recording(self) -> int:
        """Stop; a walk of two or more latents becomes the keyframes of a RECORDING figure.
        Returns the number of frames kept."""
        keyframes = self._end_recording()
        if len(keyframes) >= F.KEYFRAMES_NEEDED[F.RECORDING]:
            self.keyframes = keyframes
            self.set_spec(kind=F.RECORDING)
        return len(keyframes)

    def _end_recording(self) -> list[F.Keyframe]:
        if not self.recording:
            return []
        self._explorer.cursor_changed.disconnect(self._record_cursor)
        self._explorer.offsets_changed.disconnect(self._record_sliders)
        keyframes, self.recorder = self.recorder.keyframes(), None
        self.recording_changed.emit(False)
        return keyframes

    def _record_cursor(self, cursor) -> None:
        if cursor is not None:
            self.recorder.add(cursor.latent)

    def _record_sliders(self) -> None:
        moved = self._explorer.moved_latent
        if moved is not None:
            self.recorder.add(moved)

    # -- what to make of them -----------------------------------------------------------------
    def set_spec(self, **changes) -> None:
        """Change FigureSpec fields (kind, method, steps, rows, ...), e.g. set_spec(steps=12)."""
        self.spec = replace(self.spec, **changes)
        self.rebuild()

    def set_layout(self, **changes) -> None:
        self.set_spec(layout=replace(self.spec.layout, **changes))

    def set_animation(self, **changes) -> None:
        self.set_spec(animation=replace(self.spec.animation, **changes))

    def set_vector(self, index: int) -> None:
        self.vector_index = int(index)
        self.rebuild()

    # -- the figure ---------------------------------------------------------------------------
    def reset(self) -> None:
        """A new dataset: its keyframes, a walk being recorded, and support no longer apply."""
        self._end_recording()
        self.keyframes = []
        self.rebuild()

    def rebuild(self) -> None:
        try:
            self.figure = self._build()
            self.problem = ""
        except UserInputError as e:
            self.figure, self.problem = None, str(e)
        self.support = self._measure(self.figure)
        self.figure_changed.emit()

    def _build(self) -> F.Figure:
        s = self._explorer
        if not s.ready:
            raise F.FigureError(NOT_READY)
        keys, vector = list(self.keyframes), None
        if self.spec.kind == F.SWEEP:
            vectors = s.effective_vectors()
            if not vectors:
                raise F.FigureError("add an attribute vector to sweep along")
            vector = vectors[min(self.vector_index, len(vectors) - 1)]
            if not keys and s.pinned is not None:
                keys = [F.Keyframe(s.moved_latent, None, "the pinned point")]
            if not keys:
                raise F.FigureError("pin a point or add a keyframe to sweep from")
        elif len(keys) < F.KEYFRAMES_NEEDED[self.spec.kind]:
            need = F.KEYFRAMES_NEEDED[self.spec.kind]
            raise F.FigureError(f"{len(keys)} of {need} keyframes: {HINT}")
        return F.build(self.spec, keys, vector)

    def _measure(self, figure: F.Figure | None) -> Support | None:
        s = self._explorer
        if figure is None or s.latent_space is None:
            return None
        return s.latent_space.meter(figure.latents)

    def _on_explorer_change(self, *_) -> None:
        # vectors and the pinned point matter to sweeps only; the first map makes the state ready
        if self.spec.kind == F.SWEEP or self.problem == NOT_READY:
            self.rebuild()

    def keyframe_positions(self) -> np.ndarray:
        """Where each keyframe is on the map, (K, 2)."""
        p = self._explorer.projection
        if p is None or not self.keyframes:
            return np.zeros((0, 2))
        return p.transform(np.stack([k.latent for k in self.keyframes]))
