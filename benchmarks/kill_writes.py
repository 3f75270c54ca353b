"""Kill `vae-explorer strip` with SIGKILL at random moments and check what it left on disk
(issue 11's interrupted writes; figures in docs/reliability.md).

    python benchmarks/kill_writes.py [--trials 20] [--seed 0]

Each trial runs the real command, as a user would, writing over an existing figure (--force),
and kills it after a random delay: one trial in four anywhere in its run (start-up, model
load, decode), the others near its end, where the figure and its sidecar are written. Afterwards:
- the figure under its target name is whole (Pillow reads it) and is the old one or the new one;
- the sidecar either belongs to the figure (check_sidecar passes) or check_sidecar says it does
  not; a sidecar that does not belong and is not told apart would count as "undetected";
- the temporary files the killed process left are counted, and the next write of the same
  target (a normal run) must sweep them all.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from explorer.core.figures.export import ExportError, check_sidecar

STRIP = ["strip", "--model", "builtin:faces", "--data", "builtin:faces:test", "--device", "cpu", "--from", "1"]


def run(out: Path, to: int, wait: bool = True, env=None) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("vae-explorer")  # the installed command, as a user runs it
    args = [str(exe), *STRIP, "--to", str(to), "--steps", "24", "--out", str(out), "--force"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    if wait:
        proc.wait()
    return proc


def temps(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f".{name}*.tmp"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "VAE_EXPLORER_LOG_DIR": tempfile.mkdtemp()}
    folder = Path(tempfile.mkdtemp())
    out = folder / "strip.png"
    t0 = time.perf_counter()
    run(out, 2, env=env)
    full = time.perf_counter() - t0
    counts = dict(old=0, new=0, sidecar_ok=0, sidecar_told=0, undetected=0, broken=0, temps_left=0, not_swept=0)
    for trial in range(args.trials):
        before = out.read_bytes()
        proc = run(out, 3 + trial, wait=False, env=env)
        # most kills land near the end, where the figure and the sidecar are written
        time.sleep(rng.uniform(0.3, full) if trial % 4 == 0 else rng.uniform(0.8 * full, 1.05 * full))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            with Image.open(out) as im:
                im.load()
        except OSError:
            counts["broken"] += 1
        counts["old" if out.read_bytes() == before else "new"] += 1
        try:
            check_sidecar(out)
            counts["sidecar_ok"] += 1
        except ExportError as e:
            counts["sidecar_told" if "does not belong" in str(e) else "undetected"] += 1
        left = temps(folder, out.name)
        counts["temps_left"] += len(left)
        if left:
            run(out, 2, env=env)  # the next write of the same target sweeps them
            counts["not_swept"] += len(temps(folder, out.name))
            check_sidecar(out)  # and leaves a figure and sidecar that belong together
    print(f"{args.trials} kills of `vae-explorer strip` (a full run takes {full:.1f} s): {counts}")


if __name__ == "__main__":
    main()
