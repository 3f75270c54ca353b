"""Connects the explorer state to the model worker: state changes become requests, and
worker results (delivered on the GUI thread through a Qt signal) become state.

Loading a model, loading a dataset and encoding it are all worker jobs, so no file I/O and
no model call ever runs on the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from explorer.core.data import for_model_steps
from explorer.core.space import vectors as V
from explorer.core.state.explorer_state import Decoded, ExplorerState
from explorer.core.store import encoding
from explorer.worker.model_thread import CANCELLED, DECODED, DONE, ERROR, PROGRESS, READY, ModelWorker, Result
from models import load_model

PRIOR_SEED = 0
# The nearest point's reconstruction and its posterior samples wait until the cursor rests this
# long: while it moves, the worker decodes only the cursor, so the image under it stays fresh.
FOCUS_DECODE_DELAY_MS = 40


def _open_dataset_job(spec: str):
    """Worker job: load the dataset at the model's image size (rendering or reading images in
    steps, with progress), and any cached encodings."""

    def start(model, device):
        dataset = yield from for_model_steps(spec, model.image_shape)
        key = encoding.cache_key(model.info.content_hash, dataset.fingerprint)
        return dataset, key, encoding.load_cached(key, len(dataset))

    return start


def _encode_job(images: np.ndarray, key: str | None):
    def start(model, device):
        result = yield from encoding.encode_steps(model, images, device)
        encoding.save_cached(key, result)  # on the worker: disk writes stay off the GUI thread
        return result

    return start


class Controller(QtCore.QObject):
    # done, total, what ("rendering faces"); total 0: busy, no count yet; what "": finished
    progress = QtCore.Signal(int, int, str)
    failed = QtCore.Signal(str, str)  # what failed, message (the window shows it)
    settled = QtCore.Signal()  # every request has been answered (idle became true)
    _delivered = QtCore.Signal(object)  # worker thread -> GUI thread

    def __init__(self, state: ExplorerState, device: str = "auto", n_samples: int = 8, parent=None):
        super().__init__(parent)
        self.state = state
        self.n_samples = n_samples
        self._delivered.connect(self._on_result, QtCore.Qt.ConnectionType.QueuedConnection)
        self.worker = ModelWorker(self._delivered.emit, device=device)
        self._data_spec: str | None = None
        # the newest dataset and encode jobs; results of older ones (cancelled too late) are dropped
        self._dataset_id: int | None = None
        self._encode_id: int | None = None
        self._focus: int | None = None
        self._prior_rng = np.random.default_rng(PRIOR_SEED)
        self.encodings_source = ""  # "cache" or "encoded": where the shown encodings came from
        self.offer_label_vectors = True  # off while a session (which brings its own vectors) opens
        self._focus_timer = QtCore.QTimer(self, singleShot=True, interval=FOCUS_DECODE_DELAY_MS)
        self._focus_timer.timeout.connect(self._decode_focus)
        self._focus_timer.timeout.connect(self._tell_if_settled, QtCore.Qt.ConnectionType.QueuedConnection)
        # what has been asked of the worker and not answered yet: the newest decode per slot
        # (a newer one replaces a pending one, which then never answers), and jobs and loads
        self._unanswered_decodes: dict[str, int] = {}
        self._unanswered: set[int] = set()
        state.cursor_changed.connect(self._on_cursor)
        state.pinned_changed.connect(self._on_focus_change)
        state.offsets_changed.connect(self._decode_moved)
        state.data_changed.connect(self.offer_label_vectors_now)
        state.strip.figure_changed.connect(self._decode_strip)

    # -- commands from the window ----------------------------------------------------------
    def open(self, model_spec: str, data_spec: str) -> None:
        self._data_spec = data_spec
        self.open_model(model_spec)

    def open_model(self, spec: str) -> None:
        self._drop_dataset_jobs()
        self.state.say(f"loading model {spec} …")
        self._unanswered.add(self.worker.load_model(lambda: load_model(spec)))

    def open_dataset(self, spec: str) -> None:
        self._data_spec = spec
        if self.state.model_info is None:
            return  # opened once the model is ready
        self._drop_dataset_jobs()
        self.state.say(f"loading dataset {spec} …")
        self.progress.emit(0, 0, f"loading {spec}")
        self._dataset_id = self._run_job(_open_dataset_job(spec), slot="dataset")

    def cancel(self) -> None:
        """Stop opening or encoding the dataset (between two steps); the window says so."""
        for request_id in (self._dataset_id, self._encode_id):
            if request_id is not None:
                self.worker.cancel(request_id)

    def _drop_dataset_jobs(self) -> None:
        """Cancel the dataset jobs a new model or dataset replaces, and forget them: their late
        answers must not hide the progress of the jobs that follow."""
        self.cancel()
        self._dataset_id = self._encode_id = None

    def sample_prior(self) -> None:
        if self.state.latent_dim:
            z = self._prior_rng.standard_normal((self.n_samples, self.state.latent_dim)).astype(np.float32)
            self._decode(z, slot="prior")

    def compute_vectors(self, build, what: str = "vector") -> None:
        """Run build(mu) -> AttributeVector or a list of them on the worker; add the result.

        A logistic regression over every point takes a moment: it must not stall the GUI.
        """
        mu, fingerprint = self.state.encodings.mu, self.state.dataset.fingerprint

        def start(model, device):
            result = build(np.asarray(mu, np.float64))
            return fingerprint, (result if isinstance(result, list) else [result])
            yield  # a one-step job

        self.state.say(f"computing {what} …")
        self._run_job(start, slot="vector")

    def offer_label_vectors_now(self) -> None:
        """As soon as a labelled dataset is encoded, its binary labels' vectors become sliders."""
        s = self.state
        names = s.dataset.binary_label_names() if s.dataset is not None else ()
        if not self.offer_label_vectors or s.encodings is None or s.sliders.vectors or not names:
            return
        labels, all_names = np.asarray(s.dataset.labels), s.dataset.label_names
        self.compute_vectors(
            lambda mu: [V.from_label(V.MEAN, mu, labels, all_names, n) for n in names], what="label vectors"
        )

    def stop(self) -> bool:
        self.cancel()
        self._focus_timer.stop()
        return self.worker.stop()

    @property
    def idle(self) -> bool:
        """Every request made has been answered, and none is about to be made: what the window
        shows is what the state asks for (the screenshot waits for this)."""
        return not (self._unanswered_decodes or self._unanswered or self._focus_timer.isActive())

    def _decode(self, latents, slot: str) -> None:
        self._unanswered_decodes[slot] = self.worker.decode(latents, slot=slot)

    def _run_job(self, start, slot: str) -> int:
        request_id = self.worker.run_job(start, slot=slot)
        self._unanswered.add(request_id)
        return request_id

    def _answered(self, r: Result) -> None:
        if r.kind == PROGRESS:
            return
        self._unanswered.discard(r.request_id)
        if r.request_id >= self._unanswered_decodes.get(r.slot, r.request_id + 1):
            del self._unanswered_decodes[r.slot]

    # -- state -> worker -------------------------------------------------------------------
    def _on_cursor(self, cursor) -> None:
        if cursor is not None:
            self._decode(cursor.latent, slot="cursor")
        self._on_focus_change()

    def _decode_moved(self) -> None:
        moved = self.state.moved_latent
        if moved is not None:
            self._decode(moved, slot="cursor")

    def _decode_strip(self) -> None:
        """The strip panel's figure, in one batch (a newer figure replaces a pending one)."""
        figure = self.state.strip.figure
        if figure is not None:
            self._decode(figure.latents, slot="strip")

    def _on_focus_change(self, *_) -> None:
        if self.state.focus is not None and self.state.focus != self._focus:
            self._focus_timer.start()  # restarts: decoded once the cursor rests

    def _decode_focus(self) -> None:
        index = self.state.focus
        if index is None or index == self._focus or not self.state.ready:
            return
        self._focus = index
        enc = self.state.encodings
        mu = np.asarray(enc.mu[index], np.float32)
        sigma = np.exp(0.5 * np.asarray(enc.logvar[index], np.float32))
        eps = np.random.default_rng(index).standard_normal((self.n_samples, len(mu))).astype(np.float32)
        self._decode(mu, slot="nearest")
        self._decode(mu + eps * sigma, slot="posterior")

    # -- worker -> state (GUI thread) ------------------------------------------------------
    def _on_result(self, r: Result) -> None:
        self._answered(r)
        self._on_answer(r)
        self._tell_if_settled()

    def _tell_if_settled(self) -> None:
        if self.idle:
            self.settled.emit()

    def _on_answer(self, r: Result) -> None:
        if r.kind == DECODED:
            latents, images = r.value
            self.state.set_decoded(r.slot, Decoded(r.request_id, images, latents))
        elif r.kind == READY:
            model, device_name = r.value
            self._focus = None
            self.state.set_model(model.info, model.latent_dim, device_name)
            self.state.say(f"model {model.info.source} on {device_name}")
            if self._data_spec is not None:
                self.open_dataset(self._data_spec)
        elif r.slot in ("dataset", "encode"):
            if r.request_id in (self._dataset_id, self._encode_id):
                self._on_job_result(r)
        elif r.slot == "vector" and r.kind == DONE:
            fingerprint, vectors = r.value
            ds = self.state.dataset
            if self.state.encodings is not None and ds is not None and ds.fingerprint == fingerprint:
                for vector in vectors:
                    self.state.add_vector(vector)
                self.state.say(f"added {', '.join(v.name for v in vectors)}")
        elif r.kind == ERROR:  # a decode or a model load
            self.state.say(f"error: {r.error}")
            self.failed.emit(r.slot, r.error)

    def _on_job_result(self, r: Result) -> None:
        if r.kind == PROGRESS:
            self.progress.emit(r.value.done, r.value.total, r.value.what)
            return
        self.progress.emit(0, 0, "")
        if r.slot == "encode":
            self._encode_id = None
        else:
            self._dataset_id = None
        if r.kind == DONE and r.slot == "dataset":
            self._on_dataset(*r.value)
        elif r.kind == DONE:
            self.encodings_source = "encoded"
            self.state.set_encodings(r.value)
            self.state.say(f"encoded {len(r.value):,} points")
        elif r.kind == CANCELLED:
            self.state.say("encoding cancelled" if r.slot == "encode" else "opening the dataset cancelled")
        elif r.kind == ERROR:
            self.state.say(f"error: {r.error}")
            self.failed.emit(r.slot, r.error)

    def _on_dataset(self, dataset, key, cached) -> None:
        self._focus = None
        self.state.set_dataset(dataset)
        for problem in dataset.problems:
            self.state.say(f"skipped {problem}")
        if cached is not None:
            self.progress.emit(0, 0, "")
            self.encodings_source = "cache"
            self.state.set_encodings(cached)
            self.state.say(f"{len(dataset):,} points (encodings from the cache)")
            return
        self.progress.emit(0, len(dataset), "encoding")
        self._encode_id = self._run_job(_encode_job(dataset.images, key), slot="encode")
