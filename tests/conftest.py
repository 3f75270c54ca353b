"""Shared fixtures. Qt runs offscreen; nothing here touches the network.

No test leaves anything running behind it: two autouse fixtures fail a test that leaves a
Python thread alive (no_thread_left_running) or a Qt timer active (no_qt_timer_left_running),
naming the thread or timer and what owns it.
"""

from __future__ import annotations

import gc
import os
import sys
import sysconfig
import tempfile
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the CLI logs to a file; a test run writes its log beside the test run's other files, not the user's
os.environ.setdefault("VAE_EXPLORER_LOG_DIR", tempfile.mkdtemp(prefix="vae-explorer-test-log-"))

# -- nothing left running ------------------------------------------------------------------

APP_THREAD_PREFIX = "vae-explorer-"  # the app's worker threads: "vae-explorer-model", "vae-explorer-compute"
# How long teardown waits for a thread the test started to end. A thread the test stopped (and
# a worker's stop() joins its thread) has ended already, or ends within milliseconds; only a
# leaked thread waits this out, so it costs nothing on a passing test.
THREAD_GRACE_S = 10.0
_STDLIB = sysconfig.get_paths()["stdlib"]
_ROOT = Path(__file__).resolve().parents[1]
_blamed_threads: set[threading.Thread] = set()  # each leak fails the test that made it, not every later one


def _short(path: str) -> str:
    p = Path(path)
    for base in (_ROOT, Path(_STDLIB)):
        if p.is_relative_to(base):
            return str(p.relative_to(base))
    return path if "site-packages" not in path else path.split("site-packages/", 1)[1]


def _describe_thread(t: threading.Thread) -> str:
    """'name' (daemon, runs ModelWorker._loop, now at explorer/worker/x.py:12 in _loop)."""
    target = getattr(t, "_target", None)  # what Thread(target=...) runs; None for a Thread subclass
    if target is None:
        runs = f"{type(t).__qualname__}.run"
    elif hasattr(target, "__self__"):
        runs = f"{type(target.__self__).__qualname__}.{target.__name__}"
    else:
        runs = getattr(target, "__qualname__", repr(target))
    where, frame = "", sys._current_frames().get(t.ident)
    outside = frame
    while outside is not None and outside.f_code.co_filename.startswith(_STDLIB):
        outside = outside.f_back  # the innermost frame outside the standard library (threading's waits)
    frame = outside or frame
    if frame is not None:
        where = f", now at {_short(frame.f_code.co_filename)}:{frame.f_lineno} in {frame.f_code.co_name}"
    return f"{t.name!r} ({'daemon' if t.daemon else 'non-daemon'}, runs {runs}{where})"


def _process_wide_singleton(t: threading.Thread) -> bool:
    """Threads a library keeps one of for the whole process, made on first use and never ended:
    not a test's to stop. tqdm's monitor (tqdm.std: `cls.monitor = TMonitor(...)`, made by the
    first progress bar, reused by every later one while it runs, and stopped only at exit)."""
    monitor = sys.modules.get("tqdm._monitor")
    return monitor is not None and isinstance(t, monitor.TMonitor) and t is getattr(t.tqdm_cls, "monitor", None)


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a Python thread running: one it started and did not stop, or any
    of the app's own worker threads (those never outlive a test, whoever started them).

    Threads that were running before the test (the interpreter's, a library's started before
    it) are not its doing and are ignored, as are the process-wide singletons a library starts
    on first use (_process_wide_singleton), and threading's dummy entries for threads Python did
    not start (Qt's, torch's) that merely called into Python: those cannot be joined.
    """
    before = set(threading.enumerate())
    yield
    suspects = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread()
        and not isinstance(t, threading._DummyThread)
        and t not in _blamed_threads
        and not _process_wide_singleton(t)
        and (t not in before or t.name.startswith(APP_THREAD_PREFIX))
    ]
    deadline = time.monotonic() + THREAD_GRACE_S
    for t in suspects:
        t.join(max(0.0, deadline - time.monotonic()))
    leaked = [t for t in suspects if t.is_alive()]
    if leaked:
        _blamed_threads.update(leaked)
        pytest.fail(
            f"{len(leaked)} thread(s) still running {THREAD_GRACE_S:.0f} s after the test ended "
            "(stop and join every thread a test starts; close every window it opens):\n"
            + "\n".join(f"  {_describe_thread(t)}" for t in leaked),
            pytrace=False,
        )


_timer_sites: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # QTimer -> where Python made it


def _made_at() -> str:
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return "?" if frame is None else f"{_short(frame.f_code.co_filename)}:{frame.f_lineno} in {frame.f_code.co_name}"


def _track_timers(QtCore) -> None:
    """Record where every QTimer made from Python was made (the app's, pyqtgraph's, superqt's),
    parent or not: a parentless timer is reachable from no widget, and the site names its owner."""
    if getattr(_track_timers, "installed", False):
        return
    original = QtCore.QTimer.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _timer_sites[self] = _made_at()

    QtCore.QTimer.__init__ = __init__
    _track_timers.installed = True


def _active_timers(QtCore, QtWidgets, app) -> dict:
    """{C++ address: timer} for every active QTimer made from Python (and still alive) or
    reachable in Qt's object trees: the application's children, every top-level widget's
    descendants, and each graphics scene with its QObject items (pyqtgraph's plots live there,
    outside the widget tree)."""
    from shiboken6 import Shiboken

    roots = [app, *app.topLevelWidgets()]
    for widget in app.allWidgets():
        scene = widget.scene() if isinstance(widget, QtWidgets.QGraphicsView) else None
        if scene is not None:
            roots.append(scene)
            roots.extend(item for item in scene.items() if isinstance(item, QtCore.QObject))
    timers = [t for root in roots for t in root.findChildren(QtCore.QTimer)]
    timers += list(_timer_sites.keys())
    return {Shiboken.getCppPointer(t)[0]: t for t in timers if Shiboken.isValid(t) and t.isActive()}


def _describe_timer(t) -> str:
    """QTimer 'name' (250 ms, single-shot) owned by Controller <- MainWindow, made at file:line."""
    owners, parent = [], t.parent()
    while parent is not None and len(owners) < 4:
        name = parent.objectName()
        owners.append(type(parent).__name__ + (f" {name!r}" if name else ""))
        parent = parent.parent()
    shot = "single-shot" if t.isSingleShot() else "repeating"
    owner = " <- ".join(owners) if owners else "no parent"
    site = _timer_sites.get(t)
    made = f"made at {site}" if site else "made by Qt itself (C++)"
    name = f" {t.objectName()!r}" if t.objectName() else ""
    return f"{type(t).__name__}{name} ({t.interval()} ms, {shot}) owned by {owner}, {made}"


def pytest_collection_finish(session):
    """Freeze what the test modules imported out of the garbage collector's way: the collection
    each Qt test ends with (below) then takes microseconds instead of a tenth of a second."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def no_qt_timer_left_running(no_thread_left_running):
    """Fail a test that leaves a QTimer active: it would fire in a later test, on a window that
    test never opened. Runs after pytest-qt has closed the test's widgets and every other
    fixture but no_thread_left_running has torn down (that one checks last, so a thread that
    ends with its window is not blamed). The widgets they deleted (deleteLater) are deleted
    first, and the test's garbage is collected, so a timer dies with its window. A no-op where
    Qt was never imported or no QApplication exists.

    Collecting here also keeps one test's garbage out of the next: PySide6 (6.11) can call into
    Python while it holds Qt's signal-slot lock (QObject::disconnect looking for a Python
    disconnectNotify), a garbage collection that starts there and deletes a Python-owned widget
    (pyqtgraph's menus, in a closed window's reference cycles) needs that same lock, and the
    run hangs for good. Collected at teardown, that garbage never reaches the next window."""
    QtCore = sys.modules.get("PySide6.QtCore")
    if QtCore is None:
        yield
        return
    from PySide6 import QtWidgets

    _track_timers(QtCore)
    app = QtWidgets.QApplication.instance()
    before = _active_timers(QtCore, QtWidgets, app) if app is not None else {}
    yield
    app = QtWidgets.QApplication.instance()
    if app is None:
        return
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    gc.collect()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    leaked = [t for address, t in _active_timers(QtCore, QtWidgets, app).items() if before.get(address) is not t]
    if leaked:
        message = "\n".join(f"  {_describe_timer(t)}" for t in leaked)
        for t in leaked:  # stopped: it cannot fire into the next test, nor be blamed on it
            t.stop()
        pytest.fail(
            f"{len(leaked)} Qt timer(s) still active after the test (stop them when their owner closes):\n{message}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def held_out_faces_cached():
    """The bundled model's encodings of the held-out faces (builtin:faces:test, 2,000 faces), in
    the user cache: encoded there once per run on an empty cache, and every test and command
    that needs them (the figure commands, `vector`, the window) reads them back instead of
    encoding them again in a cache of its own. Returns the Encodings."""
    from explorer.core.data import load_dataset
    from explorer.core.store.encoding import encode_with_cache
    from explorer_models import load_model

    return encode_with_cache(load_model("builtin:faces"), load_dataset("builtin:faces:test"))


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh, empty vae-explorer cache folder for this test only."""
    from explorer.core.store import cache

    path = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(path))
    return path


@pytest.fixture
def make_pictures(tmp_path):
    """make_pictures(n, size, broken=False) -> a folder of n small RGB PNGs (size x size px) in
    tmp_path/pics, plus a file that is no image when `broken`."""

    def make(n: int, size: int, broken: bool = False):
        from PIL import Image

        folder = tmp_path / "pics"
        folder.mkdir(exist_ok=True)
        step = 255 // max(n, 1)
        for i in range(n):
            Image.new("RGB", (size, size), (step * i, 255 - step * i, 100)).save(folder / f"{i:02d}.png")
        if broken:
            (folder / "broken.png").write_bytes(b"not a png at all")
        return folder

    return make


@pytest.fixture
def tiny_images() -> np.ndarray:
    """64 small deterministic RGB images (32x32): blobs of varying position and colour."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:32, 0:32]
    images = np.empty((64, 32, 32, 3), np.uint8)
    for i in range(64):
        cx, cy, r = rng.uniform(8, 24), rng.uniform(8, 24), rng.uniform(4, 9)
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)[..., None]
        images[i] = np.where(blob, rng.integers(0, 256, 3), 30).astype(np.uint8)
    return images


class FakeVAE:
    """A tiny deterministic stand-in for a model: decode(z) = sigmoid(z @ W), reshaped.

    `delay` (seconds) slows each decode, as a heavy model is slow: a test may count on work
    taking a while, never on a delay to order events; `gate` (a threading.Event) makes decode
    wait until it is set, which orders them; `fail_with` raises from decode. Meets the model
    contract (encode, decode, latent_dim, image_shape, info).
    """

    def __init__(self, latent_dim=4, image_shape=(3, 8, 8), delay=0.0, gate=None, fail_with=None):
        import torch

        from explorer_models.vae import ModelInfo

        self.latent_dim, self.image_shape = latent_dim, image_shape
        self.info = ModelInfo(name="fake", content_hash="f" * 64)
        g = torch.Generator().manual_seed(0)
        n = int(np.prod(image_shape))
        self.w_dec = torch.randn(latent_dim, n, generator=g)
        self.w_enc = torch.randn(n, 2 * latent_dim, generator=g) / np.sqrt(n)
        self.delay, self.gate, self.fail_with = delay, gate, fail_with
        self.decoded_batches = 0

    def encode(self, x):
        h = x.flatten(1) @ self.w_enc
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-5, 1)

    def decode_logits(self, z):
        import time

        if self.gate is not None:
            self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        self.decoded_batches += 1
        return (z @ self.w_dec).reshape(len(z), *self.image_shape)

    def decode(self, z):
        import torch

        return torch.sigmoid(self.decode_logits(z))

    def neg_log_likelihood(self, x, logits):
        import torch

        return torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    def to(self, device):
        return self

    def eval(self):
        return self


@pytest.fixture
def fake_vae():
    return FakeVAE


def _make_state(n=50, d=4, labels=None, model_hash="", spec="x", file_names=None):
    """An ExplorerState with a model, a small labelled dataset and its encodings (no model runs)."""
    from explorer.core.data import Dataset
    from explorer.core.state.explorer_state import ExplorerState
    from explorer.core.store.encoding import Encodings
    from explorer_models.vae import ModelInfo

    rng = np.random.default_rng(0)
    s = ExplorerState()
    s.set_model(ModelInfo(name="m", content_hash=model_hash, source="m.safetensors"), d, "cpu")
    labels = (rng.random((n, 1)) < 0.5).astype(np.float32) if labels is None else labels
    names = tuple("abcdefgh"[: labels.shape[1]])
    s.set_dataset(Dataset(spec, np.zeros((n, 2, 2, 3), np.uint8), labels, names, "fp", file_names))
    mu = rng.normal(size=(n, d)).astype(np.float32)
    logvar = rng.normal(size=(n, d)).astype(np.float32) - 2
    s.set_encodings(Encodings(mu, logvar, *(np.zeros(n, np.float32) for _ in range(3))))
    return s


@pytest.fixture
def make_state():
    return _make_state
