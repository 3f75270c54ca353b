"""File > Export Model Report…: the window writes the page `vae-explorer report` writes."""

import re

from PySide6 import QtWidgets

from explorer.core.figures.report import SECTIONS


def _written(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "settings.ini")  # the window's settings


def test_the_window_writes_a_report_with_every_section(qtbot, open_window, tmp_path, monkeypatch):
    window = open_window()
    target = tmp_path / "faces-report"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "Export Model &Report…")
    progress = []
    window.controller.progress.connect(lambda done, total, what: progress.append(what))
    with qtbot.waitSignal(window.report_exporter.written, timeout=600_000) as written:
        action.trigger()
    path = tmp_path / "faces-report.html"  # the suffix is added
    assert written.args == [str(path)]
    html = path.read_text()
    for section in SECTIONS:
        assert re.search(f'<section id="{section}"', html), section
    assert any(p.startswith("report: ") for p in progress)
    assert _written(tmp_path) == [path.name]  # no temporary file left beside it


def test_a_cancelled_report_writes_nothing(qtbot, open_window, tmp_path):
    window = open_window()
    path = tmp_path / "r.html"
    exporter = window.report_exporter
    said = []
    window.state.status_changed.connect(said.append)
    exporter.export_to(str(path))
    exporter.cancel()  # before the page's last step: it is never written, however fast the machine
    qtbot.waitUntil(lambda: exporter.request_id is None, timeout=600_000)
    assert not path.exists() and _written(tmp_path) == []
    assert said[-1] == "the report was cancelled; nothing was written"
