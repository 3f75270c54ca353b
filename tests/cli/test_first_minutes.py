"""Issue 9, the first minutes of a new user: every wrong option is one line on stderr and exit 1,
nothing is written, skipped files are named, --help is quick, and no display is said plainly."""

import os
import subprocess
import sys
import types

import pytest

FACES = ("--model", "builtin:faces", "--device", "cpu")


def one_error_line(err: str) -> str:
    """The error line, after asserting it is the only line on stderr."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vae-explorer: error: "), err
    return lines[0]


@pytest.fixture
def pictures(make_pictures):
    """16 small 64 px pictures (the bundled model's size) and one file that is no image."""
    return make_pictures(16, 64, broken=True)


# -- 1. learning rate and beta; a diverging run writes nothing ---------------------------------------
@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--lr", "-1", "--lr -1: the learning rate must be a finite number > 0"),
        ("--lr", "0", "--lr 0: the learning rate must be a finite number > 0"),
        ("--lr", "nan", "--lr nan: the learning rate must be a finite number > 0"),
        ("--lr", "inf", "--lr inf: the learning rate must be a finite number > 0"),
        ("--beta", "inf", "--beta inf: the KL weight must be a finite number >= 0"),
        ("--beta", "nan", "--beta nan: the KL weight must be a finite number >= 0"),
        ("--beta", "-1", "--beta -1: the KL weight must be a finite number >= 0"),
    ],
)
def test_train_refuses_a_learning_rate_or_beta_that_cannot_train(cli, tmp_path, pictures, option, value, message):
    out = tmp_path / "m.safetensors"
    code, stdout, err = cli("train", "--data", pictures, "--out", out, option, value)
    assert code == 1 and stdout == ""
    assert one_error_line(err) == f"vae-explorer: error: {message} (default {'1e-3' if option == '--lr' else '1'})"
    assert not out.exists()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--seed", str(2**70), f"--seed {2**70}: a seed is a whole number from 0 to 2**63 - 1"),
        ("--seed", "-1", "--seed -1: a seed is a whole number from 0 to 2**63 - 1"),
        ("--epochs", "10000000", "--epochs must be 1 to 100,000 and --batch-size 1 to 65,536"),
        ("--batch-size", "10000000", "--epochs must be 1 to 100,000 and --batch-size 1 to 65,536"),
        ("--image-size", "100000", "--image-size 100000: the conv VAE takes square images of 32, 64, 128 px"),
    ],
)
def test_train_refuses_numbers_out_of_bounds_before_any_work(cli, tmp_path, pictures, option, value, message):
    out = tmp_path / "m.safetensors"
    code, stdout, err = cli("train", "--data", pictures, "--out", out, option, value)
    assert code == 1 and stdout == ""
    assert one_error_line(err).startswith(f"vae-explorer: error: {message}")
    assert not out.exists()


def _tiny_train(pictures, out) -> tuple:
    """train a tiny MLP on the test pictures for two epochs: the options the train tests share."""
    return (
        "train",
        "--data",
        pictures,
        "--out",
        out,
        "--arch",
        "mlp",
        "--image-size",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "4",
    )


def test_train_that_diverges_stops_with_where_and_why_and_writes_nothing(cli, tmp_path, pictures):
    out = tmp_path / "m.safetensors"
    code, _, err = cli(
        *_tiny_train(pictures, out),
        "--lr",
        "1e30",
        "--device",
        "cpu",
    )
    assert code == 1
    last = err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith(
        "vae-explorer: error: training diverged at epoch 1, step 2 of 4: the loss became non-finite (recon nan"
    )
    assert last.endswith("the learning rate (lr 1e+30) is probably too large, try a smaller one; nothing was written")
    assert not out.exists() and list(tmp_path.iterdir()) == [pictures]


def test_a_beta_so_large_the_loss_overflows_is_named_as_the_cause(cli, tmp_path, pictures):
    out = tmp_path / "m.safetensors"
    code, _, err = cli(
        *_tiny_train(pictures, out),
        "--beta",
        "1e300",
        "--device",
        "cpu",
    )
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "the KL term times beta overflowed; beta is far too large; nothing was written" in last
    assert "learning rate" not in last and not out.exists()


# -- 2. an --out that is a folder ------------------------------------------------------------------------
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(
    "command",
    [
        ("train", "--data", "builtin:faces"),
        ("vector", *FACES, "--data", "builtin:faces:test", "--label", "smiling"),
        ("strip", *FACES, "--data", "builtin:faces:test", "--from", "1", "--to", "2"),
        ("grid", *FACES, "--data", "builtin:faces:test", "--corners", "1", "2", "3", "4"),
    ],
)
def test_an_out_that_is_a_folder_is_refused_as_a_folder(cli, tmp_path, command, force):
    folder = tmp_path / "results"
    folder.mkdir()
    code, stdout, err = cli(*command, "--out", folder, *(["--force"] if force else []))
    assert code == 1 and stdout == ""
    line = one_error_line(err)
    assert line.endswith(f"{folder}: is a folder; give the name of a file to write")
    assert "exists" not in line
    assert list(folder.iterdir()) == [] and list(tmp_path.iterdir()) == [folder]


def test_an_existing_file_is_still_kept_without_force(cli, tmp_path):
    out = tmp_path / "v.json"
    out.write_bytes(b"keep me")
    code, _, err = cli("vector", *FACES, "--data", "builtin:faces:test", "--label", "smiling", "--out", out)
    assert code == 1
    assert one_error_line(err) == f"vae-explorer: error: --out {out}: the file exists; add --force to replace it"
    assert out.read_bytes() == b"keep me"


# -- 3. skipped files are named by every command that loads a dataset ------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ("strip", *FACES, "--from", "0", "--to", "3", "--steps", "3", "--out", "{tmp}/s.png"),
        ("grid", *FACES, "--corners", "0", "1", "2", "3", "--size", "2", "2", "--out", "{tmp}/g.png"),
        ("vector", *FACES, "--label", "smiling", "--out", "{tmp}/v.json"),
        (
            "train",
            "--arch",
            "mlp",
            "--image-size",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--device",
            "cpu",
            "--out",
            "{tmp}/m.safetensors",
        ),
    ],
)
def test_every_command_names_the_files_it_skipped(cli, tmp_path, pictures, isolated_cache, command):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, _, err = cli(*argv, "--data", pictures)
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, err
    assert warnings[0].startswith(f"warning: skipped {pictures / 'broken.png'}: cannot read this image")
    if command[0] == "vector":  # an image folder has no labels: the warning comes before that error
        assert (
            code == 1
            and err.strip().splitlines()[-1] == f"vae-explorer: error: {pictures}: has no labels to make a vector from"
        )
    else:
        assert code == 0, err


# -- 4. --image-size ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arch, size, message",
    [
        (
            "conv",
            "-5",
            ("--image-size -5: the conv VAE takes square images of 32, 64, 128 px (--arch mlp takes 8 to 128 px)"),
        ),
        ("conv", "0", "--image-size 0: the conv VAE takes square images of 32, 64, 128 px"),
        ("conv", "48", "--image-size 48: the conv VAE takes square images of 32, 64, 128 px"),
        (
            "mlp",
            "0",
            ("--image-size 0: the mlp VAE takes square images of 8 to 128 px (--arch conv takes 32, 64, 128 px)"),
        ),
        ("mlp", "4", "--image-size 4: the mlp VAE takes square images of 8 to 128 px"),
        ("mlp", "256", "--image-size 256: the mlp VAE takes square images of 8 to 128 px"),
    ],
)
def test_train_refuses_an_image_size_the_architecture_cannot_take(cli, tmp_path, pictures, arch, size, message):
    out = tmp_path / "m.safetensors"
    code, _, err = cli("train", "--data", pictures, "--out", out, "--arch", arch, "--image-size", size)
    assert code == 1
    assert one_error_line(err).startswith(f"vae-explorer: error: {message}")
    assert not out.exists()


# -- 5. --duration --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("duration", ["0", "-5", "9", "60001"])
@pytest.mark.parametrize(
    "command",
    [
        ("strip", "--from", "1", "--to", "2", "--out", "{tmp}/a.gif"),
        ("grid", "--corners", "1", "2", "3", "4", "--out", "{tmp}/a.gif"),
    ],
)
def test_a_frame_duration_out_of_range_is_refused(cli, tmp_path, command, duration):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, _, err = cli(*argv, *FACES, "--data", "builtin:faces:test", "--duration", duration)
    assert code == 1
    assert one_error_line(err) == (
        f"vae-explorer: error: --duration: frame duration {duration} ms: "
        "must be a whole number of milliseconds, 10 to 60,000"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "duration, ok", [(10, True), (60_000, True), (150, True), (150.0, False), (True, False), (5, False)]
)
def test_the_core_checks_the_duration_for_the_window_too(duration, ok):
    from explorer.core.figures.export import Animation, ExportError
    from explorer.core.figures.figure import FigureSpec

    spec = FigureSpec(animation=Animation(duration_ms=duration))
    if ok:
        assert spec.check() is spec
    else:
        with pytest.raises(ExportError, match="must be a whole number of milliseconds, 10 to 60,000"):
            spec.check()


# -- 6. --balance-by -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, message",
    [
        (
            ("vector", "--label", "smiling", "--balance-by", "smiling", "--out", "{tmp}/v.json"),
            "cannot balance smiling by itself; balance it by other labels",
        ),
        (
            ("vector", "--label", "smiling", "--balance-by", "glasses,smiling", "--out", "{tmp}/v.json"),
            "cannot balance smiling by itself",
        ),
        (
            ("strip", "--from", "1", "--vector", "smiling", "--balance-by", "smiling", "--out", "{tmp}/s.png"),
            "cannot balance smiling by itself",
        ),
        (
            ("strip", "--from", "1", "--vector", "smiling", "--balance-by", "moustache", "--out", "{tmp}/s.png"),
            "no label called 'moustache' (labels: smiling, glasses, eyes_open, hat",
        ),
    ],
)
def test_balancing_a_label_by_itself_or_an_unknown_label_is_an_error(
    cli, tmp_path, held_out_faces_cached, command, message
):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, stdout, err = cli(*argv, *FACES, "--data", "builtin:faces:test")
    assert code == 1 and stdout == ""
    assert one_error_line(err).startswith(f"vae-explorer: error: {message}")
    assert list(tmp_path.iterdir()) == []


# -- 7. --help and --version do not import the heavy libraries -------------------------------------------------
HEAVY = ("torch", "numpy", "scipy", "PySide6", "pyqtgraph", "explorer_models", "explorer.core", "explorer.qt")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["strip", "--help"], ["train", "--help"]])
def test_help_and_version_import_no_heavy_module(argv):
    code = f"""
import sys
from explorer.cli import main
try:
    main({argv!r})
except SystemExit as e:
    assert e.code == 0, e.code
print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m.startswith({HEAVY!r})))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_parser_offers_the_interpolation_methods_and_model_options_of_the_core():
    from explorer.cli import common
    from explorer.core.space.paths import METHODS as CORE_METHODS
    from explorer_models import loading, sources

    assert common.METHODS == CORE_METHODS
    assert (common.ENCODER_OUTPUTS, common.DECODER_OUTPUTS) == (sources.ENCODER_OUTPUTS, sources.DECODER_OUTPUTS)
    assert common.MODEL_HELP == loading.SPEC_HELP


# -- 8. no display ---------------------------------------------------------------------------------------------
@pytest.fixture
def no_window(monkeypatch):
    """explorer.qt.app replaced by a stand-in that records whether the window was started."""
    started = []
    fake = types.ModuleType("explorer.qt.app")
    fake.run_window = lambda *a, **kw: started.append(a) or 0
    monkeypatch.setitem(sys.modules, "explorer.qt.app", fake)
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    return started


def test_without_a_display_the_window_says_so_and_what_to_do(cli, no_window):
    code, stdout, err = cli()
    assert code == 1 and stdout == "" and no_window == []
    first, second = err.strip().splitlines()
    assert first == (
        "vae-explorer: error: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open"
    )
    assert "headless commands (train, info, vector, strip, grid" in second
    assert "`xvfb-run -a vae-explorer` opens the window on a virtual screen" in second


@pytest.mark.parametrize(
    "env, platform",
    [
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),  # the tests, and --screenshot in CI
        ({"QT_QPA_PLATFORM": "minimal"}, "linux"),
        ({"QT_QPA_PLATFORM": "wayland;offscreen"}, "linux"),  # a fallback that needs no display
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux"),
        ({}, "darwin"),
        ({}, "win32"),
    ],
)
def test_the_window_starts_where_qt_needs_no_display_or_has_one(cli, no_window, monkeypatch, env, platform):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    code, _, err = cli()
    assert code == 0 and err == "" and len(no_window) == 1


def test_no_display_check_runs_in_a_clean_process_without_qt_or_torch():
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux and the BSDs")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    code = """
import sys
from explorer.cli import main
code = main([])
print(code, 'PySide6' in sys.modules, 'torch' in sys.modules, 'explorer.qt.app' in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert out.stdout.strip() == "1 False False False", out.stderr
    assert out.stderr.startswith("vae-explorer: error: no display found") and len(out.stderr.splitlines()) == 2


def test_a_missing_xcb_library_is_named_with_the_install_command(cli, no_window, monkeypatch, tmp_path):
    from explorer.cli import display

    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"not a shared library")
    monkeypatch.setattr(display, "xcb_plugin", lambda: plugin)
    monkeypatch.setenv("DISPLAY", ":0")
    code, stdout, err = cli()
    assert code == 1 and stdout == "" and no_window == []
    first, second = err.strip().splitlines()
    assert first.startswith("vae-explorer: error: Qt's X11 (xcb) platform plugin cannot load (")
    assert str(plugin) in first  # the loader's own words name the file
    assert first.endswith("), so the window cannot open")
    assert f"`{display.APT_COMMAND}`" in second and "libxcb-cursor0" in second

    def missing_cursor_library(path):
        raise OSError("libxcb-cursor.so.0: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(display.ctypes, "CDLL", missing_cursor_library)
    code, _, err = cli()
    assert code == 1 and err.startswith(
        "vae-explorer: error: Qt's X11 (xcb) platform plugin cannot load "
        "(libxcb-cursor.so.0 is missing), so the window cannot open\n"
    )


def test_an_explicit_xcb_platform_is_checked_and_a_loadable_plugin_passes(cli, no_window, monkeypatch, tmp_path):
    from explorer.cli import display

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(display, "xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(display.ctypes, "CDLL", lambda path: object())
    monkeypatch.setattr(display, "x_server_reachable", lambda name: True)
    code, _, err = cli()
    assert code == 0 and err == "" and len(no_window) == 1


def test_a_display_nobody_answers_at_is_said_plainly(cli, no_window, monkeypatch, tmp_path):
    """ssh without X forwarding, or an X server that has gone: Qt would abort (exit 134)."""
    import socket

    from explorer.cli import display

    monkeypatch.setattr(display.ctypes, "CDLL", lambda path: object())  # the plugin loads
    free = 64000 + os.getpid() % 1000  # a display number no X server has here
    monkeypatch.setenv("DISPLAY", f":{free}")
    code, stdout, err = cli()
    assert code == 1 and stdout == "" and no_window == []
    first, second = err.strip().splitlines()
    assert first == (
        f"vae-explorer: error: no X server answers at DISPLAY=:{free} (closed, or not forwarded over "
        f"ssh), so the window cannot open"
    )
    assert "`xvfb-run -a vae-explorer`" in second

    # a server listening there (an abstract Unix socket, as Xvfb makes): the window opens
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(f"\0/tmp/.X11-unix/X{free}")
        server.listen(1)
        code, _, err = cli()
    assert code == 0 and err == "" and len(no_window) == 1
    assert display.x_server_reachable("nonsense") is None  # a DISPLAY it cannot read is left to Qt


# -- 9. pickle files -------------------------------------------------------------------------------------------------
def test_a_pytorch_file_is_answered_with_what_the_user_can_do(cli, tmp_path):
    """Weights alone: how to name their class. A pickled model: refused until trusted."""
    import torch

    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "mine.pth")
    code, _, err = cli("info", "--model", tmp_path / "mine.pth")
    assert code == 1
    assert one_error_line(err) == (
        f"vae-explorer: error: {tmp_path / 'mine.pth'}: holds weights only (a state dict of 1 entries); name the "
        f"class they belong to: --model your_model.py:ClassName --weights {tmp_path / 'mine.pth'}"
    )
    torch.save(torch.nn.Linear(2, 2), tmp_path / "whole.pt")
    code, _, err = cli("info", "--model", tmp_path / "whole.pt")
    assert code == 1
    assert one_error_line(err).startswith(
        f"vae-explorer: error: {tmp_path / 'whole.pt'}: a pickled PyTorch file holding Python objects, which runs "
        f"code on this computer when it is opened; open it only if you trust where it came from: add --trust-code"
    )
