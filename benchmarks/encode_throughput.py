"""Encode throughput: the app's encoding pipeline against the raw model forward on the same
device (issue 13: app / raw >= 0.9, on CPU and on a GPU when one is lent).

- raw forward: the bundled model's encode(x) and decode(mu) on batches already on the device,
  in float, nothing else (what a user's own loop over a tensor would time);
- raw with the terms: per_image_terms on those batches (recon, KL and MSE per image as well:
  the app's maths, nothing else);
- raw, end to end: the same from uint8 images in host memory, with the conversion to float and
  the copy to the device, results back as numpy (what any encoder of a dataset has to do);
- the app: encode_dataset_steps into the latents store in the cache, as the window and the CLI
  do (chunks sized to ~40 ms so the GUI can interleave cursor decodes, one write per chunk).

    python benchmarks/encode_throughput.py [--images N] [--device auto|cpu|cuda] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

from explorer.core.data import ArrayDataset
from explorer.core.steps import run_steps
from explorer.core.store import encoding
from explorer_models import load_model, resolve_device
from explorer_models.evaluation import per_image_terms
from explorer_models.vae import images_to_tensor


def timed(fn, *args, repeats: int = 2) -> float:
    """The best of `repeats` wall times (seconds) of fn(*args)."""
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn(*args)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=0, help="default: 20,000 on a CPU, 200,000 on a GPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--batches", default="32,128,512,4096", help="raw batch sizes tried; the fastest counts (the app's rival)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH (for python -m benchmarks)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    n = args.images or (200_000 if gpu else 20_000)
    batches = [int(b) for b in args.batches.split(",")]
    model = load_model("builtin:faces").to(device).eval()
    images = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    print(f"device {device} ({torch.cuda.get_device_name(device) if gpu else os.cpu_count()} "
          f"{'' if gpu else 'CPUs, '}torch {torch.__version__}, {torch.get_num_threads()} threads); "
          f"{n:,} images 64x64x3")  # fmt: skip

    @torch.no_grad()
    def raw_forward(on_device):
        for x in on_device:
            mu, _logvar = model.encode(x)
            model.decode(mu)

    def raw_terms(on_device):  # the same work as the app's: recon, KL and MSE per image besides
        for x in on_device:
            per_image_terms(model, x, sample=False)

    def raw_end_to_end(batch):
        for i in range(0, n, batch):
            x = images_to_tensor(images[i : i + batch], device)
            {k: v.cpu().numpy() for k, v in per_image_terms(model, x, sample=False).items()}

    forward, terms, whole = {}, {}, {}
    for batch in batches:
        on_device = [images_to_tensor(images[i : i + batch]).to(device) for i in range(0, n, batch)]
        raw_forward(on_device[:2])  # warm-up (cuDNN's algorithm search, oneDNN's kernels)
        forward[batch] = timed(raw_forward, on_device)
        terms[batch] = timed(raw_terms, on_device)
        on_device.clear()
        whole[batch] = timed(raw_end_to_end, batch)
        rates = (
            f"raw forward {n / forward[batch]:9,.0f} images/s, with the terms {n / terms[batch]:9,.0f}, "
            f"end to end {n / whole[batch]:9,.0f}"
        )
        print(f"  batch {batch:5,}: {rates}")
    best = min(forward, key=forward.get)
    raw, with_terms, end_to_end = forward[best], min(terms.values()), min(whole.values())
    dataset = ArrayDataset("bench", images, np.zeros((n, 0), np.float32), (), "bench-fingerprint")

    def app():
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["VAE_EXPLORER_CACHE_DIR"] = tmp  # a fresh store each time: a full encode, not a cache hit
            key = encoding.model_cache_key(model, dataset.fingerprint)
            run_steps(encoding.encode_dataset_steps(model, dataset, device, key))

    app_s = timed(app)
    print(f"{'what':56s} {'images/s':>10s}  vs raw forward")
    for what, seconds in (
        (f"raw forward (encode + decode, on the device; batch {best:,})", raw),
        ("raw forward with the per-image terms (the app's maths)", with_terms),
        ("raw, end to end (uint8 to the device, numpy back)", end_to_end),
        ("the app (encode_dataset_steps into the store)", app_s),
    ):
        print(f"{what:56s} {n / seconds:10,.0f}  {raw / seconds:5.2f}")
    if args.json:
        from gui_tools import write_figures  # (imports Qt: only now, after the timing)

        figures = dict(
            raw_forward_per_s=n / raw,
            raw_terms_per_s=n / with_terms,
            raw_end_to_end_per_s=n / end_to_end,
            app_per_s=n / app_s,
            app_over_raw=raw / app_s,
            best_batch=best,
        )
        write_figures(args.json, figures, device=str(device), images=n, threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
