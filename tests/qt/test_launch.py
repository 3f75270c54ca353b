import threading

import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from explorer.cli import main
from explorer.qt import main_window


@pytest.fixture(autouse=True)
def private_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(main_window, "default_settings",
                        lambda: QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))


def test_screenshot_mode_saves_the_window_and_exits_0_in_a_running_qapplication(qapp, tmp_path, capsys):
    png = tmp_path / "window.png"
    code = main(["--data", "builtin:faces:test", "--device", "cpu", "--screenshot", str(png)])
    assert code == 0
    assert QtWidgets.QApplication.instance() is qapp  # reused, not replaced
    with Image.open(png) as im:
        assert im.size == (1500, 920) and im.mode in ("RGB", "RGBA")
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500  # a drawn map and faces, not a blank window
    assert f"saved {png}" in capsys.readouterr().out
    assert not [t for t in threading.enumerate() if t.name == "vae-explorer-model"]


def test_screenshot_mode_fails_with_1_on_a_bad_model(qapp, tmp_path, capsys):
    code = main(["--model", str(tmp_path / "missing.safetensors"), "--data", "builtin:faces:test",
                 "--screenshot", str(tmp_path / "x.png")])
    assert code == 1
    assert "missing.safetensors: no such file" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
