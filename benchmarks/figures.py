"""How fast figures are made: the strip panel's preview and the headless commands.

    python benchmarks/figures.py [--device cpu|cuda] [--repeats N]

For a strip of 8, 32 and 64 images (slerp through two held-out faces) and grids of 8x8 and
32x32, the median time of each stage: building the path (latents and data support against
2,000 encodings), decoding it in one batch (what the worker does), and laying it out (what the
preview and the export draw). Then the wall-clock time of `vae-explorer strip` with the
encodings already cached, start-up (imports, model loading) included.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core.data import load_faces
from explorer.core.figures import figure as F
from explorer.core.space.support import SupportMeter
from explorer.core.store.encoding import encode_with_cache
from explorer_models import decode_images, describe_device, load_model, resolve_device


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    device = resolve_device(args.device)
    model = load_model("builtin:faces").to(device).eval()
    dataset = load_faces("test")
    mu = encode_with_cache(model, dataset, device).mu
    meter = SupportMeter(mu)
    keys = [F.Keyframe.data_point(mu, i) for i in (3, 1999, 250, 17)]
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, {describe_device(device)}")
    print("| figure | images | build + support | decode (one batch) | lay out | total |")
    print("| --- | --- | --- | --- | --- | --- |")
    cases = [(f"strip, {n} steps", F.FigureSpec(steps=n), keys[:2]) for n in (8, 32, 64)]
    cases += [(f"grid {n}x{n}", F.FigureSpec(kind=F.GRID, rows=n, cols=n), keys) for n in (8, 32)]
    for name, spec, k in cases:
        figure = F.build(spec, k)
        decoded = decode_images(model, figure.latents, device)
        build = median_ms(lambda spec=spec, k=k: meter(F.build(spec, k).latents), args.repeats)
        decode = median_ms(lambda figure=figure: decode_images(model, figure.latents, device), args.repeats)
        lay_out = median_ms(lambda f=figure, d=decoded: F.render(f, d, dataset.images), args.repeats)
        print(
            f"| {name} | {len(figure.latents)} | {build:.1f} ms | {decode:.1f} ms | {lay_out:.1f} ms | "
            f"{build + decode + lay_out:.1f} ms |"
        )

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "explorer",
            "strip",
            "--model",
            "builtin:faces",
            "--data",
            "builtin:faces:test",
            "--device",
            args.device,
            "--from",
            "3",
            "--to",
            "1999",
            "--steps",
            "16",
            "--force",
            "--out",
            str(Path(tmp) / "s.png"),
        ]
        walls = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
    print(f"vae-explorer strip (16 images, encodings cached), wall clock: median {np.median(walls):.2f} s of 3 runs")


if __name__ == "__main__":
    main()
