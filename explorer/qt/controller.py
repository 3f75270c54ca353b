"""Connects the explorer state to the worker threads: state changes become requests, and
results (delivered on the GUI thread through a Qt signal) become state.

Three threads do the work: the model thread (loading a model, opening and encoding a dataset,
decoding), the compute thread (maps, KD-trees, colourings, vectors) and the fit thread (UMAP,
t-SNE); the state's `run` sends its work to the last two (explorer/worker/work_runner.py). No
file I/O, model call or O(N) computation runs on the GUI thread; it only swaps results in.

Generations: opening a model or dataset issues a new generation, carried by every request
made for it. When the new model or dataset is swapped into the state, results of any other
generation are dropped here, and both threads forget their queued work of older ones.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore

from explorer.core.data import DatasetLike, has_images
from explorer.core.data.base import skipped_lines
from explorer.core.space import vectors as V
from explorer.core.space.neighbours import as_float64
from explorer.core.state.compute import Work
from explorer.core.state.explorer_state import Decoded, ExplorerState
from explorer.worker import dataset_jobs
from explorer.worker.model_thread import ModelWorker
from explorer.worker.requests import (
    Cancelled,
    Failed,
    Finished,
    Job,
    LoadedModel,
    OpenedDataset,
    Progressed,
    Result,
    Slot,
)
from explorer.worker.requests import Decoded as DecodedResult
from explorer.worker.work_runner import WorkRunner
from explorer_models import LatentModel, load_model
from explorer_models.sources import IN_MEMORY_PREFIX, ModelSource, TrustRequired, as_source

log = logging.getLogger(__name__)

PRIOR_SEED = 0
# The nearest point's reconstruction and its posterior samples wait until the cursor rests this
# long: while it moves, the worker decodes only the cursor, so the image under it stays fresh.
# Its neighbours in the latent space are searched then too (state.settle_focus).
FOCUS_DECODE_DELAY_MS = 40
# Once a decode of this many images (a strip, a grid) has replaced the last one, the model
# thread hands the memory freed back to the system: each figure size leaves differently sized
# holes in malloc's heap that later ones rarely fit (explorer/worker/native_memory.py). The
# cursor's and the posterior's decodes (1 and 8 images) reuse theirs.
RELEASE_AFTER_IMAGES = 16


class Controller(QtCore.QObject):
    # done, total, what ("rendering faces"); total 0: busy, no count yet; what "": finished
    progress = QtCore.Signal(int, int, str)
    fit_stopped = QtCore.Signal()  # a UMAP or t-SNE fit ended without a map: the map shown stays
    failed = QtCore.Signal(str, str)  # what failed, message (the window shows it)
    trust_required = QtCore.Signal(object, object)  # ModelSource, TrustRequired: opening it would run code
    settled = QtCore.Signal()  # every request has been answered (idle became true)
    _delivered = QtCore.Signal(object)  # worker threads -> GUI thread

    def __init__(self, state: ExplorerState, device: str = "auto", n_samples: int = 8, parent=None):
        super().__init__(parent)
        self.state = state
        self.n_samples = n_samples
        self._delivered.connect(self._on_result, QtCore.Qt.ConnectionType.QueuedConnection)
        self.worker = ModelWorker(self._delivered.emit, device=device)
        self.runner = WorkRunner(state, self._delivered.emit, self.progress.emit, self._fail, self.fit_stopped.emit)
        self.compute = self.runner.compute
        state.run = self.runner.run
        self._data_spec: str | DatasetLike | None = None
        self._data_labels: str | None = None  # --labels FILE for a folder
        # the newest load, dataset and encode requests: answers to older ones are dropped
        self._model_id: int | None = None
        self._dataset_id: int | None = None
        self._encode_id: int | None = None
        self._focus: int | None = None
        self._strip_latents: np.ndarray | None = None  # the strip decode last asked for
        self._prior_rng = np.random.default_rng(PRIOR_SEED)
        self.encodings_source = ""  # "cache" or "encoded": where the shown encodings came from
        self.offer_label_vectors = True  # off while a session (which brings its own vectors) opens
        self._focus_timer = QtCore.QTimer(self, singleShot=True, interval=FOCUS_DECODE_DELAY_MS)
        self._focus_timer.timeout.connect(self._on_rest)
        self._focus_timer.timeout.connect(self._tell_if_settled, QtCore.Qt.ConnectionType.QueuedConnection)
        # asked and not answered yet (request id -> generation): the newest decode per slot (a
        # newer one replaces a pending one, which then never answers), jobs, loads (the runner
        # keeps the compute work's)
        self._unanswered_decodes: dict[Slot, tuple[int, int]] = {}
        self._unanswered: dict[int, int] = {}
        self._pending_sources: dict[int, ModelSource] = {}  # model loads asked for, by request id
        self._job_answers: dict[int, Callable[[Result], None]] = {}  # run_model_job's, by request id
        self.model_source: ModelSource | None = None  # what the model in use was opened from
        state.cursor_changed.connect(self._on_cursor)
        state.pinned_changed.connect(self._on_focus_change)
        state.offsets_changed.connect(self._decode_moved)
        state.data_changed.connect(self.offer_label_vectors_now)
        state.strip.figure_changed.connect(self._decode_strip)

    # -- commands from the window ----------------------------------------------------------
    def open(
        self, model_spec: str | ModelSource | LatentModel, data_spec: str | DatasetLike, labels: str | None = None
    ) -> None:
        self._data_spec, self._data_labels = data_spec, labels
        self.open_model(model_spec)

    def open_model(self, spec: str | ModelSource | LatentModel) -> None:
        """Load a model (a SPEC, a ModelSource for a user's class, or a model already in memory:
        explorer.show); the current one stays in use until the new one is ready, and stays if
        loading fails."""
        if isinstance(spec, str | ModelSource):
            source = as_source(spec)
            load = lambda: load_model(source)
        else:
            model, source = spec, ModelSource(spec.info.source or IN_MEMORY_PREFIX + spec.info.name)
            load = lambda: model
        self._drop_dataset_jobs()
        self.state.say(f"loading model {source.describe()} …")
        generation = self.state.issue_generation()
        self._model_id = self.worker.load_model(load, generation)
        self._pending_sources[self._model_id] = source
        self._unanswered[self._model_id] = generation

    def open_dataset(self, spec: str | DatasetLike, labels: str | None = None) -> None:
        """Open a dataset (a SPEC, with a labels file for a folder, or one already in memory)."""
        self._data_spec, self._data_labels = spec, labels
        if self.state.model_info is None:
            return  # opened once the model is ready
        self._drop_dataset_jobs()
        name = spec if isinstance(spec, str) else spec.spec
        self.state.say(f"loading dataset {name} …")
        self.progress.emit(0, 0, f"loading {name}")
        job = dataset_jobs.open_dataset(spec, labels)
        self._dataset_id = self._run_job(Job.DATASET, job, self.state.issue_generation())

    def cancel(self) -> None:
        """Stop opening or encoding the dataset (between two steps) and a map fit under way; the
        window says so. (A new model or dataset cancels them too: a fit is of the data shown.)"""
        for request_id in (self._dataset_id, self._encode_id):
            if request_id is not None:
                self.worker.cancel(request_id)
        self.runner.cancel_fit()

    def _drop_dataset_jobs(self) -> None:
        """Cancel the dataset jobs a new model or dataset replaces, and forget them: their late
        answers must not hide the progress of the jobs that follow."""
        self.cancel()
        for request_id in (self._dataset_id, self._encode_id):
            self._unanswered.pop(request_id, None)
        self._dataset_id = self._encode_id = None

    def sample_prior(self) -> None:
        if self.state.latent_dim:
            z = self._prior_rng.standard_normal((self.n_samples, self.state.latent_dim)).astype(np.float32)
            self._decode(z, Slot.PRIOR)

    def decode(self, latents, slot: Slot) -> None:
        """Decode (B, D) latents for `slot` on the model thread (a newer decode replaces a pending
        one in its slot); the images reach state.decoded[slot] (decoded_changed)."""
        self._decode(latents, slot)

    def run_model_job(self, job: Job, start, answer: Callable[[Result], None]) -> int:
        """Run start(model, device), a generator of steps, on the model thread after the pending
        decodes; answer(result) on the GUI thread for each of its results (Progressed, then
        Finished, Cancelled or Failed), unless another model or dataset came in meanwhile.
        worker.cancel(the returned id) stops it between two steps."""
        request_id = self._run_job(job, start, self.state.generation)
        self._job_answers[request_id] = answer
        return request_id

    def compute_vectors(self, builds, what: str = "vector") -> None:
        """Fit each of `builds` (build(mu) -> AttributeVector or a list of them) on the compute
        thread, one step each, and add what they give.

        A fit over a million points takes up to a second: it must not stall the GUI, and a
        close or a new model waits for one fit at most. Vector requests queue (each is
        wanted), unlike the other compute work.
        """
        mu, builds = self.state.encodings.mu, builds if isinstance(builds, (list, tuple)) else [builds]

        def fit():
            wide = as_float64(mu)
            vectors = []
            for build in builds:
                yield
                result = build(wide)
                vectors.extend(result if isinstance(result, list) else [result])
            return vectors

        def add(vectors) -> None:
            self.state.add_vectors(vectors)
            self.state.say(f"added {', '.join(v.name for v in vectors)}")

        self.state.say(f"computing {what} …")
        self.runner.submit(Work.VECTORS, fit, add, replaces=False)

    def offer_label_vectors_now(self) -> None:
        """As soon as a labelled dataset is encoded, its binary labels' vectors become sliders."""
        s = self.state
        names = s.dataset.binary_label_names() if s.dataset is not None else ()
        if not self.offer_label_vectors or s.encodings is None or s.sliders.vectors or not names:
            return
        labels, all_names = np.asarray(s.dataset.labels), s.dataset.label_names
        self.compute_vectors(
            [lambda mu, n=n: V.from_label(V.MEAN, mu, labels, all_names, n) for n in names], what="label vectors"
        )

    def stop(self) -> bool:
        """Cancel everything and end the threads (each within one step of its work)."""
        self.cancel()
        self._focus_timer.stop()
        return all([self.worker.stop(), self.runner.stop()])

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """The threads have nothing left to do (their answers may still be in Qt's queue)."""
        return self.worker.wait_until_idle(timeout) and self.runner.wait_until_idle(timeout)

    @property
    def idle(self) -> bool:
        """Every request made has been answered, and none is about to be made: what the window
        shows is what the state asks for (the screenshot waits for this)."""
        busy = self._unanswered_decodes or self._unanswered or not self.runner.idle
        return not (busy or self._focus_timer.isActive())

    def _mapped_arrays(self) -> list:
        """The state's arrays that may be memory-mapped files: the images and the latents."""
        s = self.state
        images = getattr(s.dataset, "images", None)  # an in-memory dataset's (DatasetLike need not have one)
        columns = [] if s.encodings is None else [getattr(s.encodings, f.name) for f in dataclasses.fields(s.encodings)]
        return [a for a in (images, *columns) if isinstance(a, np.ndarray)]

    # -- requests ---------------------------------------------------------------------------
    def _decode(self, latents, slot: Slot) -> None:
        generation = self.state.generation
        self._unanswered_decodes[slot] = (self.worker.decode(latents, slot, generation), generation)

    def _run_job(self, job: Job, start, generation: int) -> int:
        request_id = self.worker.run_job(job, start, generation)
        self._unanswered[request_id] = generation
        return request_id

    def _answered(self, r: Result) -> None:
        if isinstance(r, Progressed):
            return
        if isinstance(r.what if isinstance(r, Failed) else getattr(r, "job", None), Work):
            self.runner.answered(r)  # the compute and fit threads count their requests apart
            return
        self._unanswered.pop(r.request_id, None)
        slot = r.slot if isinstance(r, DecodedResult) else r.what if isinstance(r, Failed) else None
        if isinstance(slot, Slot) and self._unanswered_decodes.get(slot, (None,))[0] == r.request_id:
            del self._unanswered_decodes[slot]

    def _forget_older(self, generation: int) -> None:
        """A new model or dataset is in: older requests will not be answered (the threads drop them)."""
        self.worker.drop_older(generation)
        self.runner.forget_older(generation)
        self._unanswered = {i: g for i, g in self._unanswered.items() if g >= generation}
        self._job_answers = {i: a for i, a in self._job_answers.items() if i in self._unanswered}
        self._unanswered_decodes = {s: ig for s, ig in self._unanswered_decodes.items() if ig[1] >= generation}

    # -- state -> worker -------------------------------------------------------------------
    def _on_cursor(self, cursor) -> None:
        if cursor is not None:
            self._decode(cursor.latent, Slot.CURSOR)
        self._on_focus_change()

    def _decode_moved(self) -> None:
        moved = self.state.moved_latent
        if moved is not None:
            self._decode(moved, Slot.CURSOR)

    def _decode_strip(self) -> None:
        """The strip panel's figure, in chunks (a newer figure replaces a pending one)."""
        figure = self.state.strip.figure
        if figure is None:
            return
        shown = self.state.decoded.get("strip")
        asked = self._unanswered_decodes.get(Slot.STRIP)
        same = [d.latents for d in (shown,) if d is not None] + ([self._strip_latents] if asked else [])
        if any(np.array_equal(latents, figure.latents) for latents in same):
            return  # only the layout changed (padding, captions): the panel lays out the same images again
        self._strip_latents = np.array(figure.latents)
        self._decode(figure.latents, Slot.STRIP)

    def _on_focus_change(self, *_) -> None:
        focus = self.state.focus
        if focus is not None and (focus != self._focus or focus != self.state.settled_focus):
            self._focus_timer.start()  # restarts: handled once the cursor rests

    def _on_rest(self) -> None:
        self._decode_focus()
        self.state.settle_focus()  # after the decodes are asked for: the model thread starts on them meanwhile

    def _decode_focus(self) -> None:
        index = self.state.focus
        if index is None or index == self._focus or not self.state.ready:
            return
        self._focus = index
        enc = self.state.encodings
        mu = np.asarray(enc.mu[index], np.float32)
        sigma = np.exp(0.5 * np.asarray(enc.logvar[index], np.float32))
        eps = np.random.default_rng(index).standard_normal((self.n_samples, len(mu))).astype(np.float32)
        self._decode(mu, Slot.NEAREST)
        self._decode(mu + eps * sigma, Slot.POSTERIOR)

    # -- worker -> state (GUI thread) ------------------------------------------------------
    def _on_result(self, r: Result) -> None:
        self._answered(r)
        try:
            self._on_answer(r)
        except Exception as e:  # a bug in applying a result must not leave the window half-updated silently
            log.exception("applying %s failed", type(r).__name__)
            self.state.say(f"error: {type(e).__name__}: {e}")
            self.failed.emit("internal", f"{type(e).__name__}: {e}")
        self._tell_if_settled()

    def _tell_if_settled(self) -> None:
        if self.idle:
            self.settled.emit()

    def _on_answer(self, r: Result) -> None:
        what = r.slot if isinstance(r, DecodedResult) else r.job if not isinstance(r, Failed) else r.what
        if what is Job.MODEL:
            if r.request_id == self._model_id:
                self._on_model(r)
        elif what in (Job.DATASET, Job.ENCODE):
            if r.request_id in (self._dataset_id, self._encode_id):
                self._on_dataset_job(r)
        elif r.generation != self.state.generation:
            log.debug("dropped %s of generation %d (now %d)", what, r.generation, self.state.generation)
        elif isinstance(r, DecodedResult):
            self.state.set_decoded(r.slot, Decoded(r.request_id, r.images, r.latents))
            if len(r.images) >= RELEASE_AFTER_IMAGES:  # the old figure and its previews are freed by now
                self.worker.release_memory(self._mapped_arrays())
        elif isinstance(what, Work):
            self.runner.answer(r)
        elif isinstance(what, Job) and r.request_id in self._job_answers:  # run_model_job's
            answer = self._job_answers[r.request_id]
            if not isinstance(r, Progressed):
                del self._job_answers[r.request_id]
            answer(r)
        elif isinstance(r, Failed):  # a decode
            self._fail(r)

    def _fail(self, r: Failed) -> None:
        self.state.say(f"error: {r.message}")
        self.failed.emit(r.what.name.lower(), r.message)

    def _on_model(self, r: Result) -> None:
        self._model_id = None
        source = self._pending_sources.pop(r.request_id, None)
        if isinstance(r, Failed):
            if isinstance(r.error, TrustRequired) and source is not None:
                self.state.say(f"{r.error.path} runs code when opened: waiting for your answer")
                self.trust_required.emit(source, r.error)  # the window asks, then opens it trusting that file
                return
            self._fail(r)
            return
        self.model_source = source
        loaded: LoadedModel = r.value
        model = loaded.model
        self._focus = None
        self._forget_older(r.generation)
        self.state.set_model(model.info, model.latent_dim, loaded.device_name, generation=r.generation)
        self.state.say(f"model {model.info.source} on {loaded.device_name}")
        if self._data_spec is not None:
            self.open_dataset(self._data_spec, self._data_labels)

    def _on_dataset_job(self, r: Result) -> None:
        if isinstance(r, Progressed):
            self.progress.emit(r.progress.done, r.progress.total, r.progress.what)
            return
        self.progress.emit(0, 0, "")
        if r.request_id == self._encode_id:
            self._encode_id = None
        else:
            self._dataset_id = None
        if isinstance(r, Finished) and r.job is Job.DATASET:
            self._on_dataset(r.generation, r.value)
        elif isinstance(r, Finished):
            encoded = r.value
            self.encodings_source = "encoded"
            self.state.set_encodings(encoded.encodings)
            resumed = f" (resumed after {encoded.resumed_from:,})" if encoded.resumed_from else ""
            self.state.say(f"encoded {len(encoded.encodings):,} points{resumed}")
            for warning in encoded.warnings:
                self.state.say(warning)
        elif isinstance(r, Cancelled):
            self.state.say("encoding cancelled" if r.job is Job.ENCODE else "opening the dataset cancelled")
        elif isinstance(r, Failed):
            self._fail(r)

    def _on_dataset(self, generation: int, opened: OpenedDataset) -> None:
        dataset, key, cached = opened.dataset, opened.cache_key, opened.cached
        self._focus = None
        self._forget_older(generation)
        self.state.set_dataset(dataset, generation=generation)
        for problem in dataset.problems:
            log.info("skipped %s", problem)  # every one in the log; the status line names the first
        for line in skipped_lines(dataset.problems):
            self.state.say(line)
        for warning in dataset.warnings:
            self.state.say(warning)
        if cached is not None:
            from_file = not has_images(dataset)
            self.encodings_source = "file" if from_file else "cache"
            self.state.set_encodings(cached)
            where = "latents from the file" if from_file else "encodings from the cache"
            self.state.say(f"{len(dataset):,} points ({where})")
            return
        self.progress.emit(0, len(dataset), "encoding")
        self._encode_id = self._run_job(Job.ENCODE, dataset_jobs.encode(dataset, key), generation)
