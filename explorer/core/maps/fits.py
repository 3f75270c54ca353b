"""UMAP and t-SNE fits of the latents, a step at a time (issue 13): progress, cancel, the cache.

Fitting takes seconds to minutes: fit_steps() is a generator of steps that reports progress
(t-SNE's iterations, UMAP's epochs) and stops at a cancel, and fitted_steps() keeps finished
fits in the cache. The window runs it on a thread of its own (the fit thread). The map they
make, and its inverse, are nonlinear.py's.
"""

from __future__ import annotations

import hashlib
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from explorer.core.maps.nonlinear import METHODS, MISSING, EmbeddedProjection, MissingExtra, available
from explorer.core.steps import Progress, Steps, run_steps
from explorer.core.store import cache
from explorer_models.errors import UserInputError

T = TypeVar("T")

CACHED_MAPS = "maps"  # fitted maps' positions, in the cache
# A fit runs inside the library's own loop, which no generator can step through; it runs on a
# helper thread instead, and reports from inside that loop (openTSNE's callbacks, umap-learn's
# epoch progress bar) reach the caller as the steps of a generator (hooked_steps).
POLL = 0.1  # seconds a fit's step waits for its process to report: a cancel is taken within it
TSNE_REPORT_EVERY = 5  # t-SNE iterations between two reports (and two chances to stop)
STEPS_PER_PHASE = 100  # at most about this many steps per phase of a fit: a cancel is checked at every report


class FitError(UserInputError):
    """A fit that failed in its process; the message says why."""


class _Stopped(Exception):
    """Raised inside a library's loop by its next report once the fit is cancelled: it unwinds the fit."""


class Reports:
    """How a fit's library loop reports its progress: report(done, total, what). About
    STEPS_PER_PHASE reports per phase go on to the queue (a cancel is checked at every one);
    once `stopping` is set (the fit was cancelled), a report raises and so ends the fit."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()  # Progress, then None when the fit ends
        self.stopping = threading.Event()
        self._last: Progress | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.stopping.is_set():
            raise _Stopped
        last = self._last
        if last is None or what != last.what or done in (0, total) or done - last.done >= total / STEPS_PER_PHASE:
            self._last = Progress(done, total, what)
            self.queue.put(self._last)


def hooked_steps(run: Callable[[Reports], T], name: str) -> Steps[T]:
    """Steps of `run(report)`, a library call that reports its progress from inside its own loop
    (Reports). It runs on a helper thread (named `name`, as nice as the caller's thread on
    Linux); its reports become the steps (Progress), the newest waiting when the caller is
    slower. Closing the generator (a cancel) makes the next report raise inside the library,
    which ends the fit there, and waits for the thread: a cancel takes effect within one report.
    An error of the fit is raised here, on the caller's thread."""
    report, outcome = Reports(), []

    def work() -> None:
        try:
            outcome.append((True, run(report)))
        except BaseException as e:  # raised again on the caller's thread (or dropped, after a cancel)
            outcome.append((False, e))
        finally:
            report.queue.put(None)

    helper = threading.Thread(target=work, name=name, daemon=True)
    helper.start()
    shown = None
    try:
        while True:
            progress, ended = _newest(report.queue)
            if progress is not None and progress != shown:
                shown = progress
                yield progress
            if ended:
                break
    finally:
        report.stopping.set()
        helper.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _newest(reports: queue.SimpleQueue) -> tuple[Progress | None, bool]:
    """Wait for a report; the newest of those waiting, and whether the fit has ended (None)."""
    item, newest = reports.get(), None
    while item is not None:
        newest = item
        try:
            item = reports.get_nowait()
        except queue.Empty:
            return newest, False
    return newest, True


def steps_here(method: str, mu: np.ndarray, seed: int = 0) -> Steps[np.ndarray]:
    """(N, 2) positions of the data's latents by UMAP or t-SNE, a step at a time, in this
    process: it yields Progress (the neighbour search first, then UMAP's epochs or t-SNE's
    iterations) and returns the positions, the same as the library's plain fit with this seed
    gives. Closing it stops the fit within one report (hooked_steps). MissingExtra when the
    package is not installed. What a fit's own process runs (fit_process.py); scripts too (fit)."""
    mu = np.asarray(mu, np.float32)
    if method == "umap":
        try:
            import umap
            from tqdm.auto import tqdm  # the bar umap's epoch loop draws (umap-learn needs tqdm)
        except ImportError:
            raise MissingExtra(MISSING["umap"]) from None
        run = partial(_fit_umap, umap.UMAP, tqdm.get_lock(), mu, seed)
    elif method == "tsne":
        try:
            from openTSNE import TSNE
        except ImportError:
            raise MissingExtra(MISSING["tsne"]) from None
        run = partial(_fit_tsne, TSNE, mu, seed)
    else:
        raise ValueError(f"unknown map {method!r}; choose one of {', '.join(METHODS)}")
    coords = yield from hooked_steps(run, f"vae-explorer-fit-{method}-library")
    return np.asarray(coords, np.float64)


def _fit_umap(UMAP, bar_lock, mu: np.ndarray, seed: int, report: Reports) -> np.ndarray:
    """umap-learn takes no callback, but its epoch loop draws a tqdm bar when asked (tqdm_kwds):
    written to _EpochReports as "{n}/{total}", every epoch is a report. The neighbour graph and
    the spectral start come first and report nothing (in a process's first fit they also
    compile umap's numba code: tens of seconds)."""
    report(0, 0, "fitting UMAP: neighbours")
    epochs = _EpochReports(report, "fitting UMAP: layout", bar_lock)
    bar = {"disable": False, "file": epochs, "bar_format": "{n}/{total}", "mininterval": 0, "miniters": 1}
    return UMAP(n_components=2, random_state=seed, n_jobs=1, tqdm_kwds={**bar, "leave": False}).fit_transform(mu)


class _EpochReports:
    """The file umap's tqdm bar writes to: each "{n}/{total}" it writes is a report.

    tqdm writes while holding its process-wide write lock, and releases it only when the write
    returns (tqdm.refresh: acquire, display, release; no try/finally). A report that raises (a
    cancel) therefore releases that lock first, or every later tqdm bar would wait for it forever."""

    def __init__(self, report: Reports, what: str, bar_lock):
        self.report, self.what, self.bar_lock = report, what, bar_lock

    def write(self, text: str) -> None:
        counts = _COUNTS.findall(text)
        if not counts:  # the bar's last writes, when it closes
            return
        try:
            self.report(int(counts[-1][0]), int(counts[-1][1]), self.what)
        except _Stopped:
            self.bar_lock.release()
            raise

    def flush(self) -> None:
        pass


_COUNTS = re.compile(r"(\d+)/(\d+)")


def _fit_tsne(TSNE, mu: np.ndarray, seed: int, report: Reports) -> np.ndarray:
    """openTSNE's callbacks report the iterations of both phases (early exaggeration, then the
    rest); a report that raises (a cancel) ends the fit. The affinities (its neighbour search)
    and the PCA start come first and report nothing."""
    tsne = TSNE(random_state=seed, n_jobs=1, callbacks_every_iters=TSNE_REPORT_EVERY)
    iterations = _IterationReports(report, tsne.early_exaggeration_iter, tsne.n_iter)
    # read when the fit starts; the KL openTSNE works out for each call leaves the layout bit for bit the same
    tsne.callbacks = iterations
    report(0, iterations.total, "fitting t-SNE: neighbours")
    coords = tsne.fit(mu)
    report(iterations.total, iterations.total, "fitting t-SNE: layout")  # wherever the last callback fell
    return coords


class _IterationReports:
    """openTSNE's callback, called every TSNE_REPORT_EVERY iterations of a phase; openTSNE calls
    optimization_about_to_start before each phase. It never asks to stop: a cancel raises."""

    def __init__(self, report: Reports, early: int, rest: int):
        self.report, self.total, self.phase = report, early + rest, -1
        self.phases = [(0, "fitting t-SNE: early exaggeration"), (early, "fitting t-SNE: layout")]

    def optimization_about_to_start(self) -> None:
        self.phase += 1

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        before, what = self.phases[min(self.phase, 1)]
        self.report(before + iteration, self.total, what)
        return False


def fit(method: str, mu: np.ndarray, seed: int = 0) -> np.ndarray:
    """A fit run to its end in this process (scripts, the CLI): (N, 2) positions."""
    return run_steps(steps_here(method, mu, seed))


def fit_steps(method: str, mu: np.ndarray, seed: int = 0) -> Steps[np.ndarray]:
    """steps_here() in a process of its own (fit_process.py), as the window fits: umap-learn's
    numba loops hold the GIL while each runs (up to 0.2 s an epoch at 20,000 points, seconds at
    a million), which on a thread of the window's process stalls the window; and neither library
    can be stopped in its neighbour search, which a process's end stops at once. It yields each
    Progress the process reports, and None every POLL seconds without one (a step: the caller
    may cancel there); closing it ends the process. FitError when the fit fails there."""
    if method not in METHODS:
        raise ValueError(f"unknown map {method!r}; choose one of {', '.join(METHODS)}")
    if method not in available():
        raise MissingExtra(MISSING[method])
    with tempfile.TemporaryDirectory(prefix="vae-explorer-fit-") as folder:
        mu_path, out_path, errors = (Path(folder) / name for name in ("mu.npy", "map.npy", "stderr.txt"))
        np.save(mu_path, np.ascontiguousarray(mu, np.float32))
        argv = [sys.executable, "-m", "explorer.core.maps.fit_process", method, str(seed), str(mu_path), str(out_path)]
        with open(errors, "w") as stderr:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
        lines: queue.SimpleQueue = queue.SimpleQueue()
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), name=f"vae-explorer-fit-{method}")
        reader.start()
        error = ""
        try:
            while (line := _next_line(lines)) != "":
                if line is None:
                    yield None
                    continue
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "progress":
                    done, total, what = rest.split(" ", 2)
                    yield Progress(int(done), int(total), what)
                elif kind == "error":
                    error = rest
            code = process.wait()
        finally:
            if process.poll() is None:  # closed before the end: a cancel, or another map asked for
                process.kill()
                process.wait()
            reader.join()
            process.stdout.close()
        if code != 0 or not out_path.exists():
            last = errors.read_text(errors="replace").strip().splitlines()[-1:] or [f"exit code {code}"]
            raise FitError(f"the {METHODS[method]} map could not be fitted: {error or last[0]}")
        return np.load(out_path)


def _read_lines(stream, lines: queue.SimpleQueue) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")  # the end of the output


def _next_line(lines: queue.SimpleQueue) -> str | None:
    """The process's next line ("" at its end), or None after POLL seconds without one."""
    try:
        return lines.get(timeout=POLL)
    except queue.Empty:
        return None


def fitted_steps(method: str, mu: np.ndarray, seed: int = 0) -> Steps[np.ndarray]:
    """fit_steps(), kept in the cache (keyed by the method, the seed and mu's bytes): a map
    fitted once for these latents opens at once the next time. Only a finished fit is kept:
    a fit closed before its end (a cancel) leaves nothing in the cache."""
    mu = np.ascontiguousarray(mu, np.float32)
    path = cache_file(method, mu, seed)
    coords = cache.load_array(path, (len(mu), 2), np.float64)
    if coords is not None:
        return np.array(coords)
    coords = yield from fit_steps(method, mu, seed)
    with suppress(OSError):  # the cache is a help, never a requirement
        cache.make_dir(CACHED_MAPS)
        cache.save_array(path, coords)
    return coords


def fitted(method: str, mu: np.ndarray, seed: int = 0) -> np.ndarray:
    """fitted_steps() run to the end: (N, 2) positions, from the cache when they are there."""
    return run_steps(fitted_steps(method, mu, seed))


def cache_file(method: str, mu: np.ndarray, seed: int = 0) -> Path:
    """Where the cache keeps the positions of a fit of `mu` by `method` with `seed`."""
    mu = np.ascontiguousarray(mu, np.float32)
    h = hashlib.sha256(f"{method}|{seed}|{mu.shape}|".encode())
    for start in range(0, len(mu), 65_536):  # in blocks: no copy of a million rows at once
        h.update(mu[start : start + 65_536].tobytes())
    return cache.cache_path(CACHED_MAPS, f"{h.hexdigest()}.npy")


def embedded(method: str, mu: np.ndarray, coords: np.ndarray | None = None, seed: int = 0) -> EmbeddedProjection:
    """The projection of a UMAP or t-SNE map of `mu` (from the cache, or fitted now, unless
    `coords` are given)."""
    coords = fitted(method, mu, seed) if coords is None else coords
    label = METHODS[method]
    return EmbeddedProjection(label, np.asarray(mu), np.asarray(coords, np.float64), (f"{label} 1", f"{label} 2"))
