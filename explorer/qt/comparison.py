"""A second model beside the window's (File > Compare With Model…): model B, on a model thread
of its own, encodes the open dataset, and decodes what the cursor (or the moved pinned point)
shows on A's map, linked as explorer.core.space.model_pair says.

B's thread serves B only, so A's cursor decodes never wait behind B's encoding. Its answers
carry this object's own generation: opening another B, a new dataset or closing the comparison
issues a new one, and answers of older ones are dropped here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore

from explorer.core.data import check_image_shape
from explorer.core.space import disentanglement as D
from explorer.core.space import health as H
from explorer.core.space import model_pair as P
from explorer.core.state.explorer_state import ExplorerState
from explorer.core.steps import Progress
from explorer.core.store import encoding
from explorer.worker.model_thread import ModelWorker
from explorer.worker.requests import Cancelled, Decoded, Failed, Finished, Job, LoadedModel, Progressed, Result, Slot
from explorer_models import load_model
from explorer_models.errors import UserInputError
from explorer_models.sources import as_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compared:
    """What B's encoding job finishes with (made on B's thread: all of it is O(N))."""

    mu: np.ndarray  # B's mu of the dataset
    links: dict  # mode -> LatentLink (SAME only for latents of one size)
    figures_a: dict  # {"health": ..., "disentanglement": ...} as model_pair.figure_rows reads them
    figures_b: dict


def figure_steps(mu: np.ndarray, logvar: np.ndarray, factors: dict[str, np.ndarray], seed: int = 0):
    """A model's figures for the comparison table, a step at a time (B's cursor decodes go
    between): its health (without the likelihood bound, which needs the model and takes a while:
    the health panel has it) and, with labels, disentanglement."""
    out = {"health": H.measure(mu, logvar, seed=seed).to_dict()}
    if factors:
        try:
            out["disentanglement"] = (yield from D.measure_steps(mu, factors, seed=seed)).to_dict()
        except UserInputError as e:  # labels it cannot use (all constant, too few points)
            log.info("no disentanglement figures: %s", e)
    return out


class Comparison(QtCore.QObject):
    changed = QtCore.Signal()  # B opened, encoded or closed; the link or the figures changed
    decoded = QtCore.Signal(object)  # B's image (H, W, C) of the cursor's latent
    progress = QtCore.Signal(str)  # one line on what B is doing ("" when done)
    failed = QtCore.Signal(str)  # a message for the user
    _delivered = QtCore.Signal(object)

    def __init__(self, state: ExplorerState, device: str = "auto", parent=None):
        super().__init__(parent)
        self.state, self._device = state, device
        self._delivered.connect(self._on_result, QtCore.Qt.ConnectionType.QueuedConnection)
        self.worker: ModelWorker | None = None  # started by the first open
        self.generation = 0
        self.spec = ""
        self.model_name = ""  # B's, as `info` names it
        self.latent_dim = 0
        self.result: Compared | None = None
        self.mode = P.MATCHED
        self.image: np.ndarray | None = None  # B's last decode of the cursor
        self.latent: np.ndarray | None = None  # the latent B decoded for it
        self._job_id: int | None = None
        self._source = None  # B's ModelSource
        state.cursor_changed.connect(self._on_cursor)
        state.offsets_changed.connect(self._on_moved)
        state.data_changed.connect(self._on_data)

    # -- commands --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.spec)

    @property
    def link(self) -> P.LatentLink | None:
        return None if self.result is None else self.result.links.get(self.mode)

    def open(self, spec: str) -> None:
        """Load model B (a SPEC: builtin:NAME, a checkpoint, …) and encode the open data with it."""
        if self.worker is None:
            self.worker = ModelWorker(self._delivered.emit, device=self._device)
        self._clear()
        self._source = as_source(spec)
        self.spec = self._source.spec
        self._load()
        self.changed.emit()

    def _load(self) -> None:
        source = self._source
        self.progress.emit(f"loading {source.describe()} …")
        self.worker.load_model(lambda: load_model(source), self.generation)

    def set_mode(self, mode: str) -> None:
        if mode not in P.LINKS:
            raise P.PairError(f"unknown link {mode!r}")
        self.mode = mode
        self.changed.emit()
        self._decode_current()

    def close(self) -> None:
        """End the comparison (B's thread stays, idle, until stop())."""
        self._clear()
        self.spec = ""
        self.changed.emit()

    def stop(self) -> bool:
        self.close()
        return self.worker.stop() if self.worker is not None else True

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        return self.worker is None or self.worker.wait_until_idle(timeout)

    # -- on the GUI thread -----------------------------------------------------------------
    def _clear(self) -> None:
        """Forget B altogether (a new B, or none)."""
        self._drop_results()
        self.model_name, self.latent_dim = "", 0

    def _drop_results(self) -> None:
        """Forget what B made of the data: a new generation, so answers about it are dropped."""
        if self._job_id is not None:
            self.worker.cancel(self._job_id)
        self._job_id = None
        self.result, self.image, self.latent = None, None, None
        self.generation += 1
        if self.worker is not None:
            self.worker.drop_older(self.generation)

    def _on_data(self) -> None:
        """A's model, data or encodings changed: what B made of the old ones no longer applies.
        B encodes the data again once A's encodings are in (and loads again if its load, of the
        older generation, was dropped)."""
        if not self.active or self.worker is None:
            return
        loaded = bool(self.model_name)
        self._drop_results()
        if not loaded:
            self._load()
        elif self.state.encodings is not None:
            self._encode()
        self.changed.emit()

    def _encode(self) -> None:
        s = self.state
        dataset, enc = s.dataset, s.encodings
        mu_a, logvar_a = np.asarray(enc.mu), np.asarray(enc.logvar)
        factors = D.factors_of(dataset) if dataset.label_names else {}

        def start(model, device):
            check_image_shape(dataset, model.image_shape)
            key = encoding.model_cache_key(model, dataset.fingerprint)
            encoded = encoding.open_cached(key, len(dataset))
            if encoded is None or encoded.latent_dim != model.latent_dim:
                encoded = (yield from encoding.encode_dataset_steps(model, dataset, device, key)).encodings
            yield Progress(0, 0, "measuring both models")
            mu_b = np.asarray(encoded.mu)
            links = {P.MATCHED: P.link(P.MATCHED, mu_a, mu_b)}
            if mu_b.shape[1] == mu_a.shape[1]:
                links[P.SAME] = P.link(P.SAME, mu_a, mu_b)
            figures_a = yield from figure_steps(mu_a, logvar_a, factors)
            figures_b = yield from figure_steps(mu_b, np.asarray(encoded.logvar), factors)
            return Compared(mu_b, links, figures_a, figures_b)

        self._job_id = self.worker.run_job(Job.ENCODE, start, self.generation)

    def _on_cursor(self, cursor) -> None:
        if cursor is not None:
            self._decode(cursor.latent)

    def _on_moved(self) -> None:
        if self.state.moved_latent is not None:
            self._decode(self.state.moved_latent)

    def _decode_current(self) -> None:
        s = self.state
        latent = s.moved_latent if s.pinned is not None else s.cursor.latent if s.cursor is not None else None
        if latent is not None:
            self._decode(latent)

    def _decode(self, latent_a: np.ndarray) -> None:
        link = self.link
        if link is None:
            return
        self.worker.decode(link(latent_a), Slot.CURSOR, self.generation)

    def _on_result(self, r: Result) -> None:
        if r.generation != self.generation:
            return  # of a B, a model or data since replaced
        if isinstance(r, Decoded):
            self.latent, self.image = r.latents[0], r.images[0]
            self.decoded.emit(self.image)
        elif isinstance(r, Progressed):
            p = r.progress
            self.progress.emit(f"model B: {p.what} {p.done:,} of {p.total:,}" if p.total else f"model B: {p.what}")
        elif isinstance(r, Failed):
            self.progress.emit("")
            self.failed.emit(f"model B ({self.spec}): {r.message}")
            if r.what in (Job.MODEL, Job.ENCODE):  # nothing to compare: a decode's failure alone keeps B
                self.close()
        elif isinstance(r, Cancelled):
            if r.request_id == self._job_id:
                self._job_id = None
        elif isinstance(r, Finished) and r.job is Job.MODEL:
            loaded: LoadedModel = r.value
            self.model_name = loaded.model.info.command_line()
            self.latent_dim = loaded.model.latent_dim
            if self.state.encodings is not None:
                self._encode()
            self.changed.emit()
        elif isinstance(r, Finished) and r.job is Job.ENCODE and r.request_id == self._job_id:
            self._job_id = None
            self.result = r.value
            if self.mode not in self.result.links:  # the same latent needs latents of one size
                self.mode = P.MATCHED
            self.progress.emit("")
            self.changed.emit()
            self._decode_current()
