import threading

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from explorer.cli import main
from explorer.qt import main_window
from explorer_models import decode_images, load_model


@pytest.fixture(autouse=True)
def private_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(
        main_window,
        "default_settings",
        lambda: QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat),
    )


@pytest.fixture(autouse=True)
def shown(qtbot, monkeypatch):
    """The windows main() makes, in order, each registered with qtbot as any window a test makes
    is: pytest-qt closes and deletes them at teardown. (main() closes its window and leaves it
    to its caller; a closed window's status bar may still count down the last message.)"""
    from explorer.qt import app

    windows = []

    def make(*args, **kwargs):
        window = main_window.MainWindow(*args, **kwargs)
        qtbot.addWidget(window)
        windows.append(window)
        return window

    monkeypatch.setattr(app, "MainWindow", make)
    return windows


def test_screenshot_mode_saves_the_window_and_exits_0_in_a_running_qapplication(qapp, tmp_path, capsys, shown):
    png = tmp_path / "window.png"
    code = main(["--data", "builtin:faces:test", "--device", "cpu", "--screenshot", str(png)])
    assert code == 0
    assert QtWidgets.QApplication.instance() is qapp  # reused, not replaced
    with Image.open(png) as im:
        room = qapp.primaryScreen().availableGeometry()  # the window fills a small screen, and fits it
        assert min(1500, room.width()) - 10 <= im.size[0] <= min(1500, room.width())
        assert min(920, room.height()) - 10 <= im.size[1] <= min(920, room.height())
        assert im.mode in ("RGB", "RGBA")
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500  # a drawn map and faces, not a blank window
    assert f"saved {png}" in capsys.readouterr().out
    assert len(shown) == 1 and not shown[0].isVisible()
    assert not [t for t in threading.enumerate() if t.name.startswith("vae-explorer-")]


def test_screenshot_mode_fails_with_1_on_a_bad_model(qapp, tmp_path, capsys):
    code = main(
        [
            "--model",
            str(tmp_path / "missing.safetensors"),
            "--data",
            "builtin:faces:test",
            "--screenshot",
            str(tmp_path / "x.png"),
        ]
    )
    assert code == 1
    assert "missing.safetensors: no such file" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def _crop(png: Image.Image, widget, window, rect) -> np.ndarray:
    """The pixels of `rect` (widget coordinates) in a PNG of the whole window."""
    top_left = widget.mapTo(window, rect.topLeft())
    box = (top_left.x(), top_left.y(), top_left.x() + rect.width(), top_left.y() + rect.height())
    return np.asarray(png.convert("RGB").crop(box))


def _enlarged(image: np.ndarray, size: int) -> np.ndarray:
    k = size // image.shape[1]
    return image.repeat(k, 0).repeat(k, 1)


def test_the_screenshot_of_a_session_shows_the_session_as_saved(qapp, qtbot, open_window, tmp_path, capsys, shown):
    w = open_window()
    qtbot.waitUntil(lambda: len(w.state.sliders.vectors) == 4, timeout=30_000)
    w.state.pin_data_point(40)
    w.state.set_slider(0, 1.5)  # a session whose first slider is not at 0
    w.state.strip.add_data_point(7)
    w.state.strip.add_data_point(300)
    w.state.strip.set_spec(steps=5)
    session = tmp_path / "mine.vaesession"
    assert w.sessions.save(str(session))
    saved = {"pinned": w.state.pinned.latent.copy(), "moved": w.state.moved_latent.copy()}
    w.close()

    png = tmp_path / "session.png"
    assert main([str(session), "--device", "cpu", "--screenshot", str(png)]) == 0
    assert f"saved {png}" in capsys.readouterr().out
    s = shown[0].state
    assert s.sliders.values == [1.5, 0.0, 0.0, 0.0]  # the session's, not the screenshot's own staging
    assert [k.index for k in s.strip.keyframes] == [7, 300] and s.strip.spec.steps == 5
    assert np.array_equal(s.pinned.latent, saved["pinned"]) and "prior" not in s.decoded
    # the picture shows the decode of the session's moved point, pixel for pixel
    model = load_model("builtin:faces")
    expected = decode_images(model, saved["moved"][None])[0]
    view = shown[0].decoder_panel.decoded
    rect = view.image_rect()
    with Image.open(png) as image:
        assert np.array_equal(_crop(image, view, shown[0], rect), _enlarged(expected, rect.width()))
    assert shown[0].strip_panel.composite is not None and len(s.decoded["strip"].images) == 5


def test_the_screenshot_of_a_large_map_shows_its_points(qapp, tmp_path, capsys, shown):
    """Above 150,000 points the map is an image drawn on the compute thread a moment after each
    paint asks for it; the screenshot waits for the image of the view it saves."""
    from explorer.qt.point_cloud import IMAGE_ABOVE

    n = IMAGE_ABOVE + 10_000
    rng = np.random.default_rng(0)
    mu = (rng.normal(size=(n, 16)) * np.linspace(2, 0.2, 16)).astype(np.float32)
    np.savez(tmp_path / "latents.npz", mu=mu, even=(np.arange(n) % 2).astype(np.float32))
    png = tmp_path / "map.png"
    assert main(["--data", str(tmp_path / "latents.npz"), "--device", "cpu", "--screenshot", str(png)]) == 0
    window = shown[0]
    assert window.map.image_is_current() and window.map._points.shown_image().density
    with Image.open(png) as im:
        shot = np.asarray(im.convert("RGB")).astype(int)
    box = window.map.plotItem.vb.sceneBoundingRect()  # where the points are, in the window
    top_left = window.map.mapTo(window, window.map.mapFromScene(box.topLeft()))
    x0, y0 = top_left.x(), top_left.y()
    inside = shot[y0 + 5 : y0 + int(box.height()) - 5, x0 + 5 : x0 + int(box.width()) - 5]
    lit = (inside.sum(2) > 60).mean()
    assert lit > 0.05  # the density image is there, not an empty plot
