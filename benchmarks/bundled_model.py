"""Measure the bundled model's quality and speed; prints the table in docs/bundled-model.md.

    python benchmarks/bundled_model.py [--model SPEC] [--probe-train N] [--device cpu|cuda]

Figures: held-out ELBO terms and per-pixel MSE (builtin:faces:test, 2,000 faces); the AUC of a
logistic-regression probe on mu for each binary label (fit on the first N training faces,
scored on the held-out ones); whether prior samples and reconstructions look like faces
(explorer.core.space.sample_quality: the fraction the pixel judges classify with confidence
>= 0.9, and a Frechet distance to held-out faces in the judges' feature space); single-latent
decode latency and batch encode throughput.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from PIL import Image

from explorer.core.data import faces, load_faces
from explorer.core.figures.compose import Layout, compose
from explorer.core.space import sample_quality as Q
from explorer.core.space.probe import linear_probe_auc
from explorer_models import describe_device, load_model, resolve_device
from explorer_models.evaluation import evaluate, iter_terms
from explorer_models.vae import decode_images


def encode_mu(model, images, device) -> np.ndarray:
    return np.concatenate([t["mu"] for t in iter_terms(model, images, device=device)])


def timed(fn, repeats: int) -> np.ndarray:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.array(times)


def samples(model, train, test, test_mu, n: int, device, picture: str | None = None) -> None:
    """Prior samples and reconstructions against held-out faces. The reference is the first n
    held-out faces; reconstructions (decode(mu)) and the real-vs-real floor use the next n. With
    `picture`, the first 32 prior samples are written there as a 4 x 8 grid (docs/bundled-model.md)."""
    judges = Q.fit_judges(train, test, faces.BINARY_FACTORS)
    accuracy = ", ".join(f"{j.label} {j.accuracy:.3f}" for j in judges)
    space = Q.FeatureSpace.fit(test.images[:n])
    reference = space.features(test.images[:n])
    z = np.random.default_rng(0).standard_normal((n, model.latent_dim)).astype(np.float32)
    prior = decode_images(model, z, device)
    if picture:
        Image.fromarray(compose(prior[:32], Layout(columns=8, padding=2)).image).save(picture)
    rows = [
        Q.judge("prior samples", prior, reference, space, judges),
        Q.judge("reconstructions", decode_images(model, test_mu[n : 2 * n], device), reference, space, judges),
        Q.judge("held-out faces", test.images[n : 2 * n], reference, space, judges),
    ]
    print(f"\nsamples against {n:,} held-out faces (judges' held-out accuracy: {accuracy}):")
    for row in rows:
        sure = f"judged with confidence >= {Q.CONFIDENT}: {row.confident:6.1%}"
        print(f"  {row.what:<16} {sure}   Frechet distance {row.frechet:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:faces")
    ap.add_argument("--probe-train", type=int, default=4000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--samples", type=int, default=1000, help="prior samples, reconstructions and reference faces")
    ap.add_argument("--prior-picture", metavar="PNG", help="write 32 prior samples there, a 4 x 8 grid")
    args = ap.parse_args()

    device = resolve_device(args.device)
    model = load_model(args.model).to(device)
    train, test = load_faces("train"), load_faces("test")
    print(f"model {args.model}  ({model.parameter_count():,} parameters, latent {model.latent_dim})")
    print(f"machine {platform.processor() or platform.machine()}, {describe_device(device)}, torch {torch.__version__}")

    held = evaluate(model, test.images, device=device)
    print(
        f"\nheld-out ({len(test):,} faces): ELBO {held['elbo']:.1f} nats/image "
        f"(recon {held['recon']:.1f}, KL {held['kl']:.1f}), per-pixel MSE {held['mse']:.5f}"
    )

    train_mu = encode_mu(model, train.images[: args.probe_train], device)
    test_mu = encode_mu(model, test.images, device)
    print(f"\nlinear probe on mu (fit on {args.probe_train:,} training faces, AUC on held-out):")
    for label in faces.BINARY_FACTORS:
        col = faces.FACTOR_NAMES.index(label)
        auc = linear_probe_auc(train_mu, train.labels[: args.probe_train, col], test_mu, test.labels[:, col])
        print(f"  {label:<10} AUC {auc:.4f}")

    samples(model, train, test, test_mu, args.samples, device, args.prior_picture)

    with torch.no_grad():
        z = torch.randn(1, model.latent_dim, device=device)
        for _ in range(20):
            model.decode(z).cpu()
        one = timed(lambda: model.decode(z).cpu(), 200) * 1e3
        x = torch.rand(512, *model.image_shape, device=device)
        model.encode(x)
        # a lambda, which ruff's PLW0108 fix turns into `model.encode(x)[0].cpu`: that encodes once
        # and times the copy alone (this script printed 1.8e9 images/s so)
        enc = 512 / timed(lambda: model.encode(x)[0].cpu(), 5).min()  # noqa: PLW0108
    print(
        f"\ndecode one latent (incl. copy to CPU): median {np.median(one):.2f} ms, p95 {np.percentile(one, 95):.2f} ms"
    )
    print(f"encode, batch 512: {enc:,.0f} images/s")


if __name__ == "__main__":
    main()
