"""Before the window opens: can Qt show it here? Qt's own answer to "no" is an abort (exit 134)
with a hint about libxcb-cursor0 even when the real problem is that there is no screen at all;
this says what is wrong and what to do, in two lines, without importing Qt.

Linux and the BSDs only (macOS and Windows always have their own platform plugin), and only
when Qt would pick a display server: QT_QPA_PLATFORM=offscreen (the tests, --screenshot in CI),
minimal, vnc, ... need no display and are left to Qt.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

DISPLAY_PLATFORMS = ("xcb", "wayland")  # wayland-egl and the like count as wayland
# The libraries PySide6's xcb plugin loads that a minimal or server install lacks (Debian/Ubuntu).
APT_COMMAND = (
    "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 "
    "libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libegl1 libgl1 libfontconfig1 "
    "libdbus-1-3"
)
HEADLESS = "the headless commands (train, info, vector, strip, grid; see vae-explorer --help) work without"


def _platforms(env: Mapping[str, str]) -> list[str]:
    """QT_QPA_PLATFORM's plugin names: it may be "xcb", "xcb:option=1" or a list "wayland;xcb"."""
    return [p.split(":")[0].strip().lower() for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing PySide6 (that alone takes a while)."""
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def _load_problem(plugin: Path) -> str | None:
    """Why the dynamic linker cannot load `plugin`, naming the missing library when it can."""
    try:
        ctypes.CDLL(str(plugin))  # harmless when it works: Qt loads this very file a moment later
    except OSError as e:
        missing = re.search(r"([\w.+-]+\.so[\w.]*): cannot open shared object file", str(e))
        return f"{missing.group(1)} is missing" if missing else str(e)
    return None


def x_server_reachable(display: str) -> bool | None:
    """Whether an X server answers at DISPLAY ("[host]:N[.screen]"); None when DISPLAY is in a
    form this does not know (then Qt decides). Local displays listen on a Unix socket (abstract
    or in /tmp/.X11-unix), remote ones (ssh -X gives "localhost:10.0") on TCP port 6000 + N."""
    match = re.fullmatch(r"(?P<host>[^:/]*)(?:/unix)?:(?P<n>\d+)(?:\.\d+)?", display.strip())
    if match is None:
        return None
    host, n = match["host"], int(match["n"])
    if host in ("", "unix"):
        targets = [(socket.AF_UNIX, f"\0/tmp/.X11-unix/X{n}"), (socket.AF_UNIX, f"/tmp/.X11-unix/X{n}")]
    else:
        targets = [(socket.AF_INET, (host, 6000 + n))]
    for family, address in targets:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2.0)
                s.connect(address)
                return True
        except OSError:
            continue
    return False


def window_problem(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the window cannot open here (two lines for `vae-explorer: error: `), or None."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not (platform.startswith("linux") or "bsd" in platform):
        return None
    names = _platforms(env)
    if any(not n.startswith(DISPLAY_PLATFORMS) for n in names):
        return None  # offscreen, minimal, vnc, eglfs, ... (as a choice or a fallback): Qt's business
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            f"no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open\n"
            f"{HEADLESS} one, and `xvfb-run -a vae-explorer` opens the window on a virtual screen"
        )
    wayland_session = env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland"
    xcb = names[0] == "xcb" if names else not wayland_session  # as Qt 6 picks its platform
    if not (xcb and env.get("DISPLAY")):
        return None
    plugin = xcb_plugin()
    problem = _load_problem(plugin) if plugin is not None else None
    if problem is not None:
        return (
            f"Qt's X11 (xcb) platform plugin cannot load ({problem}), so the window cannot open\n"
            f"install the libraries Qt needs: `{APT_COMMAND}` (Debian, Ubuntu); {HEADLESS} them"
        )
    if x_server_reachable(env["DISPLAY"]) is False:
        return (
            f"no X server answers at DISPLAY={env['DISPLAY']} (closed, or not forwarded over ssh), so the "
            f"window cannot open\n{HEADLESS} one, and `xvfb-run -a vae-explorer` opens the window on a "
            f"virtual screen"
        )
    return None
