"""`vae-explorer train`: train a VAE on a dataset and write one self-describing checkpoint."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from explorer import __version__
from explorer.cli import common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", required=True, metavar="SPEC", help="builtin:faces, a folder of images or a .npy / .npz file"
    )
    p.add_argument("--out", required=True, metavar="MODEL.safetensors", help="where to write the model")
    p.add_argument(
        "--arch",
        choices=("conv", "mlp"),
        default="conv",
        help="conv: square 32/64/128 px images; mlp: small images such as 28x28 (default conv)",
    )
    p.add_argument("--latent-dim", type=int, default=16, metavar="D", help="latent size (default 16)")
    p.add_argument("--beta", type=float, default=1.0, metavar="B", help="weight of the KL term (default 1)")
    p.add_argument(
        "--likelihood",
        choices=("gaussian", "bernoulli"),
        default="gaussian",
        help="decoder likelihood p(x|z): gaussian (learned sigma; sharp on photos and drawings) "
        "or bernoulli (for near-binary images such as digits); default gaussian",
    )
    p.add_argument(
        "--decoder-sigma",
        type=float,
        default=0.0,
        metavar="S",
        help="gaussian only: fix the decoder's pixel std at S (pixels in [0, 1]) instead of learning it; a "
        "larger S gives the KL term more weight, smoother decodes and better samples from the prior (default: learned)",
    )
    p.add_argument("--epochs", type=int, default=10, metavar="N", help="passes over the data (default 10)")
    p.add_argument("--batch-size", type=int, default=32, metavar="N", help="default 32")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, cosine-decayed (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and batches (default 0)")
    common.add_device_argument(p)
    p.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="PX",
        help="image folders: resize to this square size (default 64 conv, 28 mlp)",
    )
    p.add_argument("--channels", type=int, choices=(1, 3), default=3, help="image folders: 1 grey or 3 RGB")
    p.add_argument("--name", default=None, help="display name stored in the model (default: file name)")
    p.add_argument("--force", action="store_true", help="replace MODEL if it exists")


MAX_EPOCHS, MAX_BATCH = 100_000, 65_536  # far beyond use; a typo of a few zeros fails here, not in torch


def _check_out(out: str, force: bool) -> Path:
    from explorer_models.errors import UserInputError

    path = common.check_out(out, force)
    if path.suffix != ".safetensors":
        raise UserInputError(f"--out {path}: the file name must end in .safetensors")
    return path


def _check_numbers(args: argparse.Namespace) -> int:
    """Numbers torch would fail on deep inside, or train to NaN with, fail here, before any slow
    work; returns the image size for image folders."""
    from explorer_models.config import CONV_SIZES, MAX_LATENT_DIM, MLP_SIZES
    from explorer_models.errors import UserInputError

    if not (1 <= args.epochs <= MAX_EPOCHS and 1 <= args.batch_size <= MAX_BATCH):
        raise UserInputError(f"--epochs must be 1 to {MAX_EPOCHS:,} and --batch-size 1 to {MAX_BATCH:,}")
    if not 1 <= args.latent_dim <= MAX_LATENT_DIM:
        raise UserInputError(f"--latent-dim {args.latent_dim}: the latent size must be 1 to {MAX_LATENT_DIM:,}")
    if not 0 <= args.seed < 2**63:
        raise UserInputError(f"--seed {args.seed}: a seed is a whole number from 0 to 2**63 - 1")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UserInputError(f"--lr {args.lr:g}: the learning rate must be a finite number > 0 (default 1e-3)")
    if not (math.isfinite(args.beta) and args.beta >= 0):  # the rule of VAEConfig.validate, checked early
        raise UserInputError(f"--beta {args.beta:g}: the KL weight must be a finite number >= 0 (default 1)")
    if args.image_size is None:
        return 64 if args.arch == "conv" else 28
    sizes = {"conv": CONV_SIZES, "mlp": MLP_SIZES}
    words = {"conv": ", ".join(map(str, CONV_SIZES)), "mlp": f"{MLP_SIZES[0]} to {MLP_SIZES[-1]}"}
    if args.image_size not in sizes[args.arch]:
        other = "mlp" if args.arch == "conv" else "conv"
        raise UserInputError(
            f"--image-size {args.image_size}: the {args.arch} VAE takes square images of "
            f"{words[args.arch]} px (--arch {other} takes {words[other]} px)"
        )
    return args.image_size


def _progress_bar(total_epochs: int):
    from tqdm import tqdm

    bar = None

    def show(p) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=p.steps * total_epochs, unit="batch", file=sys.stderr, dynamic_ncols=True)
        bar.set_description(f"epoch {p.epoch}/{p.epochs}", refresh=False)
        bar.set_postfix_str(f"ELBO {p.elbo:9.1f}  recon {p.recon:9.1f}  KL {p.kl:6.1f}", refresh=False)
        bar.update(1)

    def close() -> None:
        if bar is not None:
            bar.close()

    return show, close


def run(args: argparse.Namespace, argv: list[str]) -> int:
    import torch

    from explorer.core.data import check_spec, has_images, load_dataset
    from explorer_models import ModelInfo, VAEConfig, build_model, describe_device, resolve_device, save_checkpoint
    from explorer_models.errors import TrainingError, UserInputError
    from explorer_models.evaluation import evaluate
    from explorer_models.facts import format_facts, model_facts
    from explorer_models.training import TrainSettings, train

    out = _check_out(args.out, args.force)
    size = _check_numbers(args)
    device = resolve_device(args.device)
    check_spec(args.data)
    print(f"loading {args.data} ...", file=sys.stderr)
    data = load_dataset(args.data, image_size=size, channels=args.channels)
    if not has_images(data):
        raise UserInputError(f"{args.data}: a file of precomputed latents has no images to train on")
    common.warn_skipped(data)
    try:
        config = VAEConfig(
            arch=args.arch,
            image_shape=data.image_shape,
            latent_dim=args.latent_dim,
            beta=args.beta,
            likelihood=args.likelihood,
            decoder_sigma=args.decoder_sigma,
        )
    except ValueError as e:
        raise UserInputError(f"cannot build a {args.arch} VAE for {args.data}: {e}") from e

    torch.manual_seed(args.seed)
    model = build_model(config)
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(
        f"training a {args.arch} VAE ({model.parameter_count():,} parameters, latent {args.latent_dim}) "
        f"on {len(data):,} images, {describe_device(device)}",
        file=sys.stderr,
    )
    show, close = _progress_bar(args.epochs)
    try:
        result = train(model, data.images_at(range(len(data))), settings, device=device, on_progress=show)
    except TrainingError as e:
        raise TrainingError(f"{e}; nothing was written") from e
    finally:
        close()

    facts = {
        "dataset": data.spec,
        "dataset_fingerprint": data.fingerprint,
        "images": len(data),
        "epochs": len(result.history),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "device": describe_device(device),
        "seconds": round(result.seconds, 1),
        "final_train": {k: result.history[-1][k] for k in ("elbo", "recon", "kl")},
        "vae_explorer": __version__,
        "torch": torch.__version__,
        "command": "vae-explorer " + shlex.join(argv),
    }
    if data.heldout_spec:
        heldout = load_dataset(data.heldout_spec)
        facts["heldout"] = evaluate(model.to(device), heldout.images_at(range(len(heldout))), device=device)
        facts["heldout_dataset"] = f"{heldout.spec}, {len(heldout):,} images"
    model.to("cpu")
    model.info = ModelInfo(name=args.name or out.stem, label_names=data.label_names, training=facts, source=str(out))
    save_checkpoint(model, out)
    print(format_facts(model_facts(model)))
    return 0
