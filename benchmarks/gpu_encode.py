"""Encoding on a GPU (issue 12): out of memory, the encoder backs off to smaller chunks and still
gives the same latents, and explorer.encode leaves a user's CUDA model in the mode and on the
device it found it. (A device too small for even one image is one clear error: the allocator's
reserve makes that hard to provoke on a real GPU, so tests/core/test_encoding.py checks it.)

Needs a CUDA device. The device's memory is capped (torch.cuda.set_per_process_memory_fraction)
so that a large first chunk cannot fit, as on a small GPU:

    python benchmarks/gpu_encode.py [--cap-gb 1.0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from explorer.core.steps import run_steps
from explorer.core.store import encoding
from explorer_models.contract import ModelInfo


class WideConvVAE(nn.Module):
    """A conv VAE whose activations take ~12 MB an image at 128x128: 4,096 of them do not fit in 1 GB."""

    def __init__(self, latent_dim: int = 32):
        super().__init__()
        self.latent_dim, self.image_shape = latent_dim, (3, 128, 128)
        self.info = ModelInfo(name="wide", content_hash="", source="benchmark:wide")
        self.enc = nn.Sequential(
            nn.Conv2d(3, 96, 3, padding=1), nn.ReLU(), nn.Conv2d(96, 96, 3, stride=4, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(96 * 32 * 32, 2 * latent_dim),
        )  # fmt: skip
        self.dec = nn.Sequential(nn.Linear(latent_dim, 3 * 128 * 128), nn.Unflatten(1, (3, 128, 128)), nn.Sigmoid())

    def encode(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z):
        return self.dec(z)


class PlainVAE(nn.Module):
    """A user's module: encode and decode only, adapted by explorer.encode."""

    def __init__(self):
        super().__init__()
        self.enc, self.dec = nn.Linear(3 * 128 * 128, 16), nn.Linear(8, 3 * 128 * 128)

    def encode(self, x):
        mu, logvar = self.enc(x.flatten(1)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).view(-1, 3, 128, 128)


class Recording(nn.Module):
    """The model, with the size of every chunk encode() was asked for."""

    def __init__(self, model):
        super().__init__()
        self.model, self.chunks = model, []
        self.latent_dim, self.image_shape, self.info = model.latent_dim, model.image_shape, model.info

    def encode(self, x):
        self.chunks.append(len(x))
        return self.model.encode(x)

    def decode(self, z):
        return self.model.decode(z)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-gb", type=float, default=1.0)
    parser.add_argument("--images", type=int, default=4096)
    args = parser.parse_args()
    assert torch.cuda.is_available(), "needs a CUDA device"
    device = torch.device("cuda", 0)
    total = torch.cuda.get_device_properties(device).total_memory
    print(f"{torch.cuda.get_device_name(device)}, {total / 2**30:.0f} GiB; torch {torch.__version__}")
    torch.manual_seed(0)
    images = np.random.default_rng(0).integers(0, 256, (args.images, 128, 128, 3), dtype=np.uint8)
    model = WideConvVAE().eval()
    reference = run_steps(encoding.encode_steps(model.to(device), images[:256], device, first_chunk=64))

    torch.cuda.set_per_process_memory_fraction(args.cap_gb * 2**30 / total, device)
    torch.cuda.empty_cache()
    recording = Recording(model)
    t = time.perf_counter()
    enc = run_steps(encoding.encode_steps(recording, images, device, first_chunk=4096, max_chunk=4096))
    seconds = time.perf_counter() - t
    shrinking = [c for i, c in enumerate(recording.chunks) if i == 0 or c != recording.chunks[i - 1]]
    print(f"capped at {args.cap_gb:g} GiB: {len(images):,} images encoded in {seconds:.2f} s")
    print(f"  chunk sizes tried, in order (repeats dropped): {shrinking}")
    print(f"  largest chunk that fitted: {max(c for c in recording.chunks[len(shrinking) - 1 :])}")
    same = np.allclose(enc.mu[:256], reference.mu, rtol=1e-4, atol=1e-4)
    print(f"  latents equal to an uncapped run's (first 256): {same}")

    torch.cuda.set_per_process_memory_fraction(1.0, device)

    import explorer

    user = PlainVAE().to(device).train()  # a user's own module, on the GPU, in training mode, mid-loop
    before = (next(user.parameters()).device, user.training)
    enc = explorer.encode(user, images[:64], device="cuda")
    after = (next(user.parameters()).device, user.training)
    print(f"explorer.encode on a CUDA model in training mode: {before} before, {after} after, mu {enc.mu.shape}")


if __name__ == "__main__":
    main()
