"""Start the window; `--screenshot PATH` saves a PNG of it once the map is drawn, then exits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from explorer.qt.main_window import MainWindow

SCREENSHOT_TIMEOUT_S = 600


def application() -> QtWidgets.QApplication:
    """The running QApplication, or a new one (main() may be called from inside another Qt app)."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("vae-explorer")
        app.setOrganizationName("vae-explorer")
    return app


class Screenshot(QtCore.QObject):
    """Saves a PNG of the window once it shows a settled state, then leaves the event loop.

    With a session: the session as saved, once it is restored and every decode it asks for
    has arrived. Without one, the window is staged to show what it can do: the cursor on a data
    point, pinned; prior samples; the first attribute slider (when the data has labels) at +2;
    a strip from that point to one across the map."""

    SLIDER = 2.0

    def __init__(self, window: MainWindow, path: Path, session: bool = False):
        super().__init__(window)
        self.window, self.path, self.exit_code = window, path, None
        self._staging = not session
        self._ready = False  # staged, or the session restored
        if session:
            window.sessions.restored.connect(self._on_restored)
            window.sessions.refused.connect(lambda why: self._fail("session", why))
        else:
            window.state.projection_changed.connect(self._stage)
            window.state.vectors_changed.connect(self._move_slider)
        window.controller.settled.connect(self._check)
        window.controller.failed.connect(self._fail)
        self._timeout = QtCore.QTimer(self, singleShot=True, interval=SCREENSHOT_TIMEOUT_S * 1000)
        self._timeout.timeout.connect(lambda: self._fail("screenshot", "timed out"))
        self._timeout.start()

    def _on_restored(self) -> None:
        self._ready = True
        self._check()

    def _stage(self) -> None:
        if self._ready or not self.window.state.ready:
            return
        self._ready = True
        state = self.window.state
        # a point a little off the middle of the data, so its neighbourhood is on screen
        target = np.percentile(state.coords, 60, axis=0)
        index = int(np.argmin(((state.coords - target) ** 2).sum(1)))
        state.move_cursor(state.coords[index])  # hover the point, so the panels describe it
        state.pin_data_point(index)
        far = int(np.argmax(((state.coords - state.coords[index]) ** 2).sum(1)))
        state.strip.add_data_point(index)
        state.strip.add_data_point(far)
        state.strip.set_spec(steps=10)
        self.window.controller.sample_prior()
        self._move_slider()

    def _move_slider(self) -> None:
        state = self.window.state
        if self._ready and state.sliders.vectors and state.sliders.values[0] == 0:
            state.set_slider(0, self.SLIDER)

    def _staged_fully(self) -> bool:
        """Staging waits for the label vectors (a worker job) to move the first slider."""
        ds = self.window.state.dataset
        labelled = ds is not None and bool(ds.binary_label_names())
        return not labelled or bool(self.window.state.sliders.values)

    def _check(self, *_) -> None:
        if not self._ready or self.exit_code is not None or not self.window.controller.idle:
            return
        if self._staging and not self._staged_fully():
            return
        QtCore.QTimer.singleShot(0, self._save)  # after the events this round queued (repaints, layout)

    def _save(self) -> None:
        if self.exit_code is not None or not self.window.controller.idle:
            return  # something changed meanwhile: the controller says when it settles again
        QtWidgets.QApplication.sendPostedEvents()  # pending layout, so the picture is what a user sees
        self.window.map.viewport().repaint()  # a large map asks for the image of this view (compute thread)
        if not self.window.map.image_is_current():
            QtCore.QTimer.singleShot(10, self._save)  # not drawn yet: the image comes on its own
            return
        ok = self.window.grab().save(str(self.path), "PNG")
        self._finish(0 if ok else 1, f"saved {self.path}" if ok else f"{self.path}: could not write the PNG")

    def _fail(self, what: str, message: str) -> None:
        if self.exit_code is None:
            self._finish(1, f"{what}: {message}")

    def _finish(self, code: int, message: str) -> None:
        self.exit_code = code
        self._timeout.stop()
        print(f"vae-explorer: {message}", file=sys.stderr if code else sys.stdout)
        self.window.close()


def run_window(
    model,
    data: str,
    device: str = "auto",
    screenshot: str | None = None,
    session: str | None = None,
    labels: str | None = None,
) -> int:
    """Show the window and return when it closes.

    A local event loop rather than app.exec(): main() may run inside a QApplication that
    someone else owns (a notebook, a test), and ending app.exec() would end theirs too.
    """
    application()
    window = MainWindow(model, data, device=device, session=session, labels=labels)
    shot = Screenshot(window, Path(screenshot), session=session is not None) if screenshot else None
    loop = QtCore.QEventLoop()
    window.closed.connect(loop.quit)
    window.show()
    loop.exec()
    return shot.exit_code if shot is not None and shot.exit_code is not None else 0
