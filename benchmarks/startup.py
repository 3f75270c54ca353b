"""Start-up: the wall time of `vae-explorer --screenshot PNG` (the real window with the bundled
model and data, closed once the map is drawn and staged) against a bare
`python -c "import torch, PySide6.QtWidgets"`, the least any such app pays.

    python benchmarks/startup.py [--runs 5] [--data builtin:faces] [--json PATH]

Each run is a fresh process with an empty settings folder, in a cache folder of its own. The
first window opens on an empty cache (the dataset encodes then) and is reported apart; the
runs after it open with the encodings cached, as every start after the first does. A first
bare import warms the disk cache and is not counted; then the two take turns. Medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = [sys.executable, "-c", "import torch, PySide6.QtWidgets"]


def app_command(png: Path, data: str) -> list[str]:
    """The installed `vae-explorer` beside this Python (python -m explorer.cli's main if none)."""
    script = shutil.which("vae-explorer", path=str(Path(sys.executable).parent))
    start = (
        [script] if script else [sys.executable, "-c", "import sys; from explorer.cli import main; sys.exit(main())"]
    )
    return [*start, "--data", data, "--screenshot", str(png)]


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds from starting `command` to its exit; a failure stops the benchmark with its output."""
    t = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (after the first ones)")
    parser.add_argument("--data", default="builtin:faces")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH (for python -m benchmarks)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vae-explorer-startup-") as tmp:
        env = dict(os.environ)
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            env.setdefault("QT_QPA_PLATFORM", "offscreen")
        for name in ("VAE_EXPLORER_CACHE_DIR", "VAE_EXPLORER_LOG_DIR", "XDG_CONFIG_HOME"):  # settings too
            env[name] = os.path.join(tmp, name.lower())
        app = app_command(Path(tmp) / "shot.png", args.data)
        first = timed(app, env)
        timed(BARE, env)
        bare, window = [], []
        for _ in range(args.runs):
            bare.append(timed(BARE, env))
            window.append(timed(app, env))
    app_s, bare_s = statistics.median(window), statistics.median(bare)
    print(f"vae-explorer --data {args.data} --screenshot PNG against a bare import, {args.runs} runs each")
    print(f"  first start, empty cache (the dataset encodes): {first:6.2f} s")
    print(f"  start, encodings cached: median {app_s:6.2f} s  ({', '.join(f'{s:.2f}' for s in window)})")
    print(
        f"  bare import of torch and PySide6.QtWidgets: median {bare_s:6.2f} s  ({', '.join(f'{s:.2f}' for s in bare)})"
    )
    print(f"  the app takes {app_s / bare_s:.2f}x the bare import, {app_s - bare_s:+.2f} s")
    if args.json:
        from gui_tools import write_figures

        figures = dict(first_start_s=first, start_s=app_s, bare_import_s=bare_s, ratio=app_s / bare_s)
        write_figures(args.json, {**figures, "difference_s": app_s - bare_s}, runs=args.runs, data=args.data)


if __name__ == "__main__":
    main()
