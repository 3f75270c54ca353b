"""File > Export Model Report…: the page `vae-explorer report` writes, of the model and data the
window shows, made on the model thread a step at a time (cancelled like other long jobs) and
written atomically there too: the GUI thread only asks for a file name and shows progress."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from explorer import __version__
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.dialogs import warn
from explorer.worker.requests import Cancelled, Failed, Finished, Job, Progressed
from explorer_models.errors import UserInputError

FILTER = "Web page (*.html)"


class ReportExporter(QtCore.QObject):
    written = QtCore.Signal(str)  # the path, once the page is on disk

    def __init__(self, window: QtWidgets.QWidget, state: ExplorerState, controller):
        super().__init__(window)
        self.window, self.state, self.controller = window, state, controller
        self.request_id: int | None = None
        state.data_changed.connect(self._forget)  # a new model or data: the controller drops its answers

    def ask(self) -> None:
        if self.request_id is not None:
            warn(self.window, "A report is being written.", "Wait for it, or cancel it, before asking for another.")
            return
        if not self.state.ready:
            warn(self.window, "No report yet.", "Open a model and a dataset first; the report is of both.")
            return
        name = f"{self.state.model_info.name or 'model'}-report.html"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Export a model report", name, FILTER)
        if not path:
            return
        try:
            self.export_to(path if Path(path).suffix.lower() in (".html", ".htm") else path + ".html")
        except UserInputError as e:  # a folder that cannot be written
            warn(self.window, "Could not write the report.", str(e))

    def export_to(self, path: str) -> int:
        """Gather the report of the window's model and data on the model thread and write it
        to `path` (replaced atomically); the status bar shows each section as it is made."""
        from explorer.core.figures import report as R
        from explorer.core.figures import report_html
        from explorer_models.atomic import check_writable, write_bytes_atomic

        check_writable(path, force=True)
        s = self.state
        dataset, encodings = s.dataset, s.encodings
        spec = R.ReportSpec(made_by=f"vae-explorer {__version__}")

        def start(model, device):
            report = yield from R.report_steps(model, dataset, encodings, spec, device=device)
            write_bytes_atomic(path, report_html.render(report).encode("utf-8"))
            return path

        s.say(f"writing the report to {path} …")
        self.request_id = self.controller.run_model_job(Job.REPORT, start, self._answer)
        return self.request_id

    def cancel(self) -> None:
        if self.request_id is not None:
            self.controller.worker.cancel(self.request_id)

    def _forget(self) -> None:
        if self.request_id is not None:
            self.cancel()
            self.request_id = None
            self.controller.progress.emit(0, 0, "")
            self.state.say("the report was cancelled: the model or data changed")

    def _answer(self, r) -> None:
        if isinstance(r, Progressed):
            p = r.progress
            self.controller.progress.emit(p.done, p.total, f"report: {p.what}")
            return
        self.request_id = None
        self.controller.progress.emit(0, 0, "")
        if isinstance(r, Finished):
            self.state.say(f"wrote the report {r.value}")
            self.written.emit(r.value)
        elif isinstance(r, Cancelled):
            self.state.say("the report was cancelled; nothing was written")
        elif isinstance(r, Failed):
            self.state.say(f"error: {r.message}")
            warn(self.window, "Could not write the report.", r.message)
