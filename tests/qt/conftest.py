import threading

import pytest
from PySide6 import QtCore


@pytest.fixture(autouse=True)
def no_worker_left_behind():
    """Every Qt test must shut its model worker down."""
    yield
    alive = [t.name for t in threading.enumerate() if t.name == "vae-explorer-model" and t.is_alive()]
    assert not alive, f"worker threads still running after the test: {alive}"


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def open_window(qtbot, settings):
    """open_window(model_spec, data_spec) -> a shown MainWindow whose map is ready."""
    from explorer.qt.main_window import MainWindow

    windows = []

    def make(model="builtin:faces", data="builtin:faces:test", wait_ready=True, session=None):
        w = MainWindow(model, data, device="cpu", settings=settings, session=session)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        if wait_ready:
            qtbot.waitUntil(lambda: w.state.ready, timeout=180_000)
        return w

    yield make
    for w in windows:
        w.close()
